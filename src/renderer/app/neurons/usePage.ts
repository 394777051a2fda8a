// Neuron pages through a small cache: going back to a neuron, or to the next one in the table, does not ask
// the engine again. Pages are read-only views of a recording, so a cached page stays right until the
// recording changes (its id is part of the key).
import { useEffect, useState } from 'react';
import type { MonoscopeClient } from '../../api/client.js';
import type { OpInput } from '../../../core/api.js';
import type { OpResult } from '../../../core/api.js';
import { useClient } from '../data.js';

export type NeuronPageData = OpResult<'neurons.page'>;
type PageInput = OpInput<'neurons.page'>;

const MAX_PAGES = 48;
const cache = new Map<string, Promise<NeuronPageData>>();

function keyOf(input: PageInput, version: string | number): string {
  return `${version}|${JSON.stringify(input)}`;
}

/** The page of `input`, from the cache or the engine (a failed request is not kept). */
export function fetchPage(
  client: MonoscopeClient,
  input: PageInput,
  version: string | number,
): Promise<NeuronPageData> {
  const key = keyOf(input, version);
  let hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  hit = client.call('neurons.page', input);
  cache.set(key, hit);
  hit.catch(() => cache.delete(key));
  while (cache.size > MAX_PAGES) cache.delete(cache.keys().next().value!);
  return hit;
}

/** Asks for a page ahead of time (the neighbours of the open one), ignoring failures. */
export function prefetchPage(client: MonoscopeClient, input: PageInput, version: string | number): void {
  fetchPage(client, input, version).catch(() => {});
}

export interface PageState {
  /** The page asked for, or while it loads the one shown before (`stale`), so the layout stays. */
  data: NeuronPageData | undefined;
  stale: boolean;
  error: Error | undefined;
  loading: boolean;
}

/** The page of `input` (null: none); `version` names the recording, so a new recording is asked again. */
export function useNeuronPage(input: PageInput | null, version: string | number, nonce = 0): PageState {
  const client = useClient();
  const key = input === null ? null : keyOf(input, version);
  const [state, setState] = useState<{ key: string | null; data?: NeuronPageData; error?: Error }>({
    key: null,
  });
  useEffect(() => {
    if (key === null) return;
    let alive = true;
    const parsed = JSON.parse(key.slice(key.indexOf('|') + 1)) as PageInput;
    fetchPage(client, parsed, version).then(
      (data) => alive && setState({ key, data }),
      (error: Error) => alive && setState((s) => ({ key, data: s.data, error })),
    );
    return () => {
      alive = false;
    };
  }, [client, key, version, nonce]);
  if (key === null) return { data: undefined, stale: false, error: undefined, loading: false };
  const current = state.key === key;
  return { data: state.data, stale: !current, error: current ? state.error : undefined, loading: !current };
}
