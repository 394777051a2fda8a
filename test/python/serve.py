"""Serves a Python script's main() to one test process: one interpreter answers many calls, so that the
script's imports (PyTorch takes about a second) are paid once per test file instead of once per call.

  serve.py SCRIPT REQUESTS OUTDIR
      SCRIPT is loaded as a module (its `if __name__ == "__main__"` block does not run). REQUESTS is a FIFO
      whose lines are JSON lists, each the arguments of one call: main() runs with sys.argv = [SCRIPT, *args].
      The outcome of call n (counted from 1), {"status": exit status, "stdout": ..., "stderr": ...}, is
      written to OUTDIR/n.json by a rename, so it is whole when it appears. The server ends when the FIFO
      has no writer left (the test process ended).

test/helpers/python-script.ts is the other side.
"""

import contextlib
import importlib.util
import io
import json
import os
import sys
import traceback


def load(script: str):
    """The script as a module, its folder first on sys.path (as when it runs as a program)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    spec = importlib.util.spec_from_file_location("served_script", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def call(module, script: str, args: list) -> dict:
    """Runs module.main() with `args` as a program would: its exit status, and what it wrote."""
    out, err = io.StringIO(), io.StringIO()
    status = 0
    sys.argv = [script, *args]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            module.main()
        except SystemExit as e:
            # sys.exit(None) is success, sys.exit("message") prints the message and fails, as the interpreter does.
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
                status = 1
            else:
                status = e.code or 0
        except BaseException:  # noqa: BLE001 - every failure is the call's, reported like an uncaught one
            traceback.print_exc()
            status = 1
    return {"status": status, "stdout": out.getvalue(), "stderr": err.getvalue()}


def main():
    script, requests, outdir = sys.argv[1:4]
    # Opened without waiting for a writer, then read blocking: if the test process is gone already (it held
    # the only writer), the first read meets the end of the FIFO and the server ends instead of hanging.
    fd = os.open(requests, os.O_RDONLY | os.O_NONBLOCK)
    os.set_blocking(fd, True)
    module = load(script)
    with os.fdopen(fd, encoding="utf8") as lines:
        for n, line in enumerate(lines, start=1):
            result = call(module, script, json.loads(line))
            tmp = os.path.join(outdir, f"{n}.json.tmp")
            with open(tmp, "w", encoding="utf8") as f:
                json.dump(result, f)
            os.replace(tmp, os.path.join(outdir, f"{n}.json"))


if __name__ == "__main__":
    main()
