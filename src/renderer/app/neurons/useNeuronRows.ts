// The neuron table's rows for one tap or for every recorded layer of a tap kind: `neurons.table` of each
// tap (asked for together; the engine computes what is not yet in the store), concatenated in layer order.
import { useCallback, useEffect, useState } from 'react';
import { useClient } from '../data.js';
import { neuronRows, type NeuronRows, type NeuronTableData } from './table.js';

/** A recorded tap the table reads: its name and the probe set of its recording. */
export interface TableTap {
  tap: string;
  probe: string;
}

export interface NeuronRowsState {
  data: NeuronRows | undefined;
  /** Taps whose table has arrived, of `taps.length`. */
  done: number;
  error: Error | undefined;
  reload: () => void;
}

/** The rows of `taps` of `checkpoint`, named `name` (the tap, or the pattern the taps match). */
export function useNeuronRows(checkpoint: string, name: string, taps: TableTap[]): NeuronRowsState {
  const client = useClient();
  const key = JSON.stringify({ checkpoint, name, taps });
  const [nonce, setNonce] = useState(0);
  const [state, setState] = useState<{ key: string; data?: NeuronRows; done: number; error?: Error }>({
    key: '',
    done: 0,
  });
  useEffect(() => {
    let current = true;
    const asked = JSON.parse(key) as { checkpoint: string; name: string; taps: TableTap[] };
    let done = 0;
    Promise.all(
      asked.taps.map((t) =>
        client
          .call('neurons.table', { checkpoint: asked.checkpoint, tap: t.tap, probe: t.probe })
          .then((table: NeuronTableData) => {
            done++;
            if (current) setState((s) => ({ ...(s.key === key ? s : {}), key, done }));
            return table;
          }),
      ),
    ).then(
      (tables) => current && setState({ key, done, data: neuronRows(asked.name, tables) }),
      (error: Error) => current && setState({ key, done, error }),
    );
    return () => {
      current = false;
    };
  }, [client, key, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  const fresh = state.key === key;
  return {
    data: fresh ? state.data : undefined,
    done: fresh ? state.done : 0,
    error: fresh ? state.error : undefined,
    reload,
  };
}
