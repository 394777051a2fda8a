/**
 * The trainer_state.json fixture and Python's reading of such files, shared by the unit, integration and
 * e2e tests of runs trained elsewhere.
 */
import { join } from 'node:path';
import { runPython } from '../unit/store/python.js';

/**
 * A TRL DPOTrainer run as transformers saves it (`json.dumps(asdict(state), indent=2, sort_keys=True)`):
 * 80 pairs in batches of 8 for 3 epochs (30 steps), logging_steps 10, eval_steps 15, values written by hand.
 */
export const TRL_FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'trl', 'dpo-trainer_state.json');

/** The Python with numpy (and so `json`, `csv`, `hashlib`) that the tests read files with. */
export const PY = '/usr/bin/python3';

/** Python's verdict on two trainer_state.json files: equal as transformers would load them (NaN == NaN). */
const SAME_STATE = `
import json, math, sys
def same(a, b):
    if isinstance(a, float) and math.isnan(a): return isinstance(b, float) and math.isnan(b)
    if isinstance(a, dict): return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list): return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b and type(a) is not bool or a is b
a, b = (json.load(open(f)) for f in sys.argv[1:3])
print(json.dumps(same(a, b)))
`;

/** Whether Python's `json` reads the two files as the same trainer state. */
export function sameTrainerState(a: string, b: string): boolean {
  return JSON.parse(runPython(PY, SAME_STATE, [a, b])) as boolean;
}
