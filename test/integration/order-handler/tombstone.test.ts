import { afterEach, describe, expect, it } from 'vitest';
import { intentJobId, resultJobId } from '../../../src/queue/job-ids.js';
import { projectKeys } from '../../../src/redis/keys.js';
import { defaultSandboxCatalog } from '../../../src/sandbox/sandbox-server.js';
import type { LocalSandbox } from '../../../src/sandbox/sandbox-types.js';
import { Resources, startHandlerKit, startTestSandbox, type HandlerKit } from './handler-kit.js';

/**
 * What an intent enqueued again for a finished merchant_order_id gets (issue 9, item 6): within the
 * tombstone horizon nothing, once the record and jobs are past retention; past the horizon the API's
 * own uniqueness refuses it, so it is never charged twice.
 */

const resources = new Resources();
afterEach(() => resources.close());

const intent = (mid: string) => ({ merchant_order_id: mid, item_id: 4090, quantity: 2 });
const ordersOf = (sandbox: LocalSandbox, mid: string) => sandbox.orders().filter((o) => o.merchantOrderId === mid);

async function finishedOrder(mid: string): Promise<{ sandbox: LocalSandbox; kit: HandlerKit }> {
  const sandbox = resources.add(await startTestSandbox());
  const kit = resources.add(await startHandlerKit({ apiUrl: sandbox.url, catalog: defaultSandboxCatalog() }));
  await kit.enqueue(intent(mid));
  expect((await kit.pollUntilResult(mid)).status).toBe('completed');
  return { sandbox, kit };
}

/** What RETENTION_SECONDS removes: the ledger record, the finished intent job, the consumed result job. */
async function passRetention(kit: HandlerKit, mid: string): Promise<void> {
  await kit.redis.del(projectKeys(kit.prefix).order(mid));
  await (await kit.intents.getJob(intentJobId(mid)))?.remove();
  await (await kit.results.getJob(resultJobId(mid)))?.remove();
}

describe('when an intent is enqueued again after its order finished and its record expired', () => {
  it('within the tombstone horizon: completes as a duplicate, with no second order and no second result', async () => {
    const { sandbox, kit } = await finishedOrder('tb-1');
    const tombstone = projectKeys(kit.prefix).tombstone('tb-1');
    expect(await kit.redis.get(tombstone)).toBe('completed');
    // Kit ledger: retention 3600 s, tombstones 7200 s.
    const ttl = await kit.redis.ttl(tombstone);
    expect(ttl).toBeGreaterThan(3_600);
    expect(ttl).toBeLessThanOrEqual(7_200);
    await passRetention(kit, 'tb-1');

    const jobId = await kit.enqueue(intent('tb-1'));
    await expect.poll(() => kit.jobState('tb-1'), { timeout: 10_000 }).toBe('completed');

    expect((await kit.intents.getJob(jobId))?.returnvalue).toEqual({ merchant_order_id: 'tb-1', duplicate_of: 'finished' });
    expect(await kit.allResults()).toEqual([]);
    expect(await kit.state('tb-1')).toBeNull();
    expect(sandbox.stats().calls.create).toBe(1);
  });

  it('past the tombstone horizon too: the API refuses the reused id, so it ends rejected duplicate_merchant_order_id, charged once', async () => {
    const { sandbox, kit } = await finishedOrder('tb-2');
    const [first] = ordersOf(sandbox, 'tb-2');
    await passRetention(kit, 'tb-2');
    await kit.redis.del(projectKeys(kit.prefix).tombstone('tb-2'));

    await kit.enqueue(intent('tb-2'));
    const again = await kit.pollUntilResult('tb-2');

    expect(again).toMatchObject({ status: 'rejected', error: 'duplicate_merchant_order_id', order_id: null, codes: [], source: 'worker' });
    expect(sandbox.stats().calls.create).toBe(2);
    expect(ordersOf(sandbox, 'tb-2')).toEqual([first]);
    expect(await kit.reservations()).toEqual({});
  });
});
