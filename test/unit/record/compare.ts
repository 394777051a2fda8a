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
      'SELECT neuron, mean, std, min, max, density, hist_lo, hist_hi, histogram FROM neuron_stats WHERE recording_id = ? ORDER BY neuron',
    ),
    top: q('SELECT neuron, rank, row, value FROM top_examples WHERE recording_id = ? ORDER BY neuron, rank'),
    quantiles: q(
      'SELECT neuron, grp, sample, row, value, group_lo, group_hi FROM quantile_samples WHERE recording_id = ? ORDER BY neuron, grp, sample',
    ),
    concepts: q(
      'SELECT neuron, concept, mean FROM concept_means WHERE recording_id = ? ORDER BY neuron, concept',
    ),
  };
}
