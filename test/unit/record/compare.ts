/** Reads everything a recording stored, without its id, so two recordings can be compared exactly. */
import type { Store } from '../../../src/core/store/store.js';

export function dumpRecording(store: Store, id: number): Record<string, unknown[]> {
  const q = (sql: string): unknown[] =>
    (store.db.prepare(sql).all(id) as Record<string, unknown>[]).map((r) => {
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r)) o[k] = Buffer.isBuffer(v) ? v.toString('base64') : v;
      return o;
    });
  return {
    recording: q(
      'SELECT tap, dtype, n_rows, n_neurons, batch_size, n_batches, batches_done, status, settings FROM recordings WHERE id = ?',
    ),
    tiles: q(
      'SELECT neuron, batch, row_start, data FROM activation_tiles WHERE recording_id = ? ORDER BY neuron, batch',
    ),
    stats: q(
      'SELECT neuron, mean, std, min, max, density FROM neuron_stats WHERE recording_id = ? ORDER BY neuron',
    ),
    examples: q(
      'SELECT neuron, top_rows, top_values, quantile_rows, quantile_values, quantile_ranges FROM neuron_examples WHERE recording_id = ? ORDER BY neuron',
    ),
    concepts: q(
      'SELECT neuron, concept, mean FROM concept_means WHERE recording_id = ? ORDER BY neuron, concept',
    ),
  };
}
