// The client (renderer) and the engine host (main) share the contract's job types; these checks keep the
// host usable as the IPC handler's engine and the two operation kinds a partition of the contract. The
// expectTypeOf lines fail `npm run typecheck` (tsc) when they stop holding.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { OPS, type OpName } from '../../../src/core/api.js';
import type * as Host from '../../../src/main/engine-host.js';
import type { EngineLike, IpcHandler } from '../../../src/main/ipc.js';
import type * as Client from '../../../src/renderer/api/client.js';
import type { IpcReply } from '../../../src/shared/ipc.js';

describe('client types', () => {
  it('fit the engine host to the IPC handler and its replies to the client', () => {
    expectTypeOf<Host.EngineHost>().toExtend<EngineLike>();
    expectTypeOf<ReturnType<IpcHandler>>().toEqualTypeOf<Promise<IpcReply<unknown>>>();
  });

  it('split the operations into queries and jobs as the contract does', () => {
    expectTypeOf<Client.QueryOp | Client.JobOp>().toEqualTypeOf<OpName>();
    expectTypeOf<Extract<Client.QueryOp, Client.JobOp>>().toBeNever();
    expectTypeOf<'runs.list'>().toExtend<Client.QueryOp>();
    expectTypeOf<'train'>().toExtend<Client.JobOp>();
    // At run time: each op is one kind or the other, so every op lands in exactly one of the two types.
    for (const [name, op] of Object.entries(OPS)) expect(['query', 'job'], name).toContain(op.kind);
  });

  it('take an input exactly where the operation has required fields, of the right kind (tsc)', () => {
    // Checked by tsc only: the function is never called.
    const typed = (client: Client.MonoscopeClient) => {
      void client.call('runs.list');
      void client.call('runs.list', {});
      // @ts-expect-error runs.metrics needs a runId
      void client.call('runs.metrics');
      // @ts-expect-error unknown fields are refused
      void client.call('runs.metrics', { runId: 'r', extra: 1 });
      // @ts-expect-error train is a job, not a query
      void client.call('train', { name: 'x', stage: 'dpo' });
      // @ts-expect-error runs.list is a query, not a job
      void client.startJob('runs.list');
      expectTypeOf(client.call('project.summary')).resolves.toHaveProperty('dir');
      expectTypeOf(
        client.startJob('train', { name: 'x', stage: 'dpo' }),
      ).resolves.toEqualTypeOf<Client.JobInfo>();
    };
    expect(typed).toBeTypeOf('function');
  });
});
