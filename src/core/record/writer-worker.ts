/**
 * Worker-thread side of a recording (see writer.ts): opens the store file itself and runs a
 * RecordingWriter, answering each message in the order it came.
 *
 *   { id, type: 'start', file, options, init }  ->  { id, ok: true, replayed }
 *   { id, type: 'batch', batch, taps }          ->  { id, ok: true, rows }
 *   { id, type: 'finish' }                      ->  { id, ok: true }       (statistics written, store closed)
 *   { id, type: 'close' }                       ->  { id, ok: true }       (store closed)
 *   a failure                                   ->  { id, ok: false, message, code }
 */
import { parentPort } from 'node:worker_threads';
import { openStore, StoreError, type OpenStoreOptions, type Store } from '../store/store.js';
import { RecordingWriter, type TapBatch, type WriterInit } from './writer.js';

export type WriterRequest =
  | { id: number; type: 'start'; file: string; options: OpenStoreOptions; init: WriterInit }
  | { id: number; type: 'batch'; batch: number; taps: TapBatch[] }
  | { id: number; type: 'finish' }
  | { id: number; type: 'close' };

export type WriterReply =
  | { id: number; ok: true; replayed?: number; rows?: number }
  | { id: number; ok: false; message: string; code?: string };

let store: Store | null = null;
let writer: RecordingWriter | null = null;

function handle(m: WriterRequest): WriterReply {
  if (m.type === 'start') {
    store = openStore(m.file, m.options);
    writer = new RecordingWriter(store, m.init);
    return { id: m.id, ok: true, replayed: writer.replayed };
  }
  if (m.type === 'close') {
    store?.close();
    store = null;
    return { id: m.id, ok: true };
  }
  if (!writer) throw new Error('recording writer: not started');
  if (m.type === 'batch') return { id: m.id, ok: true, rows: writer.commit(m.batch, m.taps) };
  writer.finish();
  store?.close();
  store = null;
  return { id: m.id, ok: true };
}

parentPort!.on('message', (m: WriterRequest) => {
  let reply: WriterReply;
  try {
    reply = handle(m);
  } catch (e) {
    reply = {
      id: m.id,
      ok: false,
      message: (e as Error).message,
      code: e instanceof StoreError ? e.code : undefined,
    };
  }
  parentPort!.postMessage(reply);
});
