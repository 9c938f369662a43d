import type { Job } from 'bullmq';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ResolutionJobOutcome, ResolveRequest } from '../../../src/handlers/resolution-job-handler.js';
import type { OrderResult } from '../../../src/lifecycle/order-state.js';
import { requestResolution } from '../../../src/queue/enqueue-resolve.js';
import { resolutionJobId, resolveRequestJobId, resultJobId } from '../../../src/queue/job-ids.js';
import type { LocalSandbox, SandboxOptions } from '../../../src/sandbox/sandbox-types.js';
import { projectKeys } from '../../../src/redis/keys.js';
import { WEBHOOK_SECRET } from '../../support/pipeline.js';
import { uniquePrefix } from '../../support/redis.js';
import { completedEvent, deliverSigned, Resources, startHandlerKit, startKitReceiver, startTestSandbox, WAIT_MS, type HandlerKit, type KitReceiver } from './handler-kit.js';

/**
 * Late truth (issue 9, item 7): an order that ended `unresolved` gets at most one resolution — from
 * its webhook when it lands after the deadline (the receiver's finalizer), or from an operator's
 * resolve request (a `resolve` job the worker runs through the same machine) — emitted under its
 * own job id, the unresolved result left as it was.
 */

const resources = new Resources();
afterEach(() => resources.close());

const ordersOf = (sandbox: LocalSandbox, mid: string) => sandbox.orders().filter((o) => o.merchantOrderId === mid);

/**
 * Make `mid` end `unresolved` with an order behind it: the first create lands but answers 502, the
 * retry meets the landed order as a duplicate, and the deadline passes without a webhook.
 */
async function endUnresolved(kit: HandlerKit, sandbox: LocalSandbox, mid: string, faultsAfter: SandboxOptions['faults'] = {}): Promise<OrderResult> {
  sandbox.setFaults({ ...faultsAfter, create: { badGatewayAfterCommit: 1 } });
  await kit.enqueue({ merchant_order_id: mid, item_id: 4090, quantity: 2 });
  await kit.waitForState(mid, 'ambiguous');
  await kit.parked(mid);
  sandbox.setFaults(faultsAfter);
  await kit.promote(mid);
  await kit.waitForState(mid, 'awaiting_webhook');
  await kit.parked(mid);
  kit.clock.advance(kit.policy.resolveTimeoutMs);
  await kit.promote(mid);
  const result = await kit.result(mid);
  expect(result).toMatchObject({ status: 'unresolved', order_id: null, resolves: null });
  return result;
}

/** The resolution in `order-results`, once there. */
async function resolutionOf(kit: HandlerKit, mid: string): Promise<OrderResult> {
  return vi.waitFor(
    async () => {
      const job = (await kit.results.getJob(resolutionJobId(mid))) as Job<OrderResult> | undefined;
      if (job === undefined) throw new Error(`${mid}: no resolution yet`);
      return job.data;
    },
    { timeout: WAIT_MS, interval: 20 },
  );
}

/** Ask as `voodoo-fulfillment resolve` does; let time pass while the request waits; return the fleet's answer. */
/**
 * Ask the fleet to resolve `mid` and wait for its answer, promoting the parked request with the kit's
 * clock moved `stepMs` (default: the first poll delay; an early wake only looks the order up again).
 */
async function resolve(kit: HandlerKit, mid: string, orderId: string, stepMs = kit.policy.pollInitialDelayMs): Promise<ResolutionJobOutcome> {
  const requested = await requestResolution(kit.intents, mid, orderId);
  if (requested.kind !== 'requested') throw new Error(`${mid}: request not added (${requested.kind})`);
  return vi.waitFor(
    async () => {
      const job = (await kit.intents.getJob(resolveRequestJobId(mid))) as Job<ResolveRequest, ResolutionJobOutcome> | undefined;
      const state = await job?.getState();
      if (job !== undefined && state === 'completed') return job.returnvalue;
      if (job !== undefined && state === 'delayed') {
        kit.clock.advance(stepMs);
        await job.promote().catch(() => undefined);
      }
      throw new Error(`${mid}: resolve request not answered (${String(state)})`);
    },
    { timeout: WAIT_MS, interval: 50 },
  );
}

/** Result jobs for `mid` in order-results: the result's and the resolution's ids. */
async function resultJobIds(kit: HandlerKit, mid: string): Promise<string[]> {
  const jobs = await kit.results.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized']);
  return jobs.filter((j) => (j.data as OrderResult).merchant_order_id === mid).map((j) => j.id ?? '').sort();
}

async function receiverCount(receiver: KitReceiver, name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = (await receiver.metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('when the webhook lands after the order ended unresolved', () => {
  it('the receiver emits exactly one resolution, from the webhook, and leaves the unresolved result and the finished job as they were', async () => {
    const prefix = uniquePrefix('oh');
    const receiver = resources.add(await startKitReceiver(prefix));
    // Every webhook is held back 6 s: long after the (clock-advanced) deadline has ended the order.
    const late = { webhook: { delay: 1, delayMs: 6_000 } };
    const sandbox = resources.add(await startTestSandbox({ webhook: { url: receiver.webhookUrl, secret: WEBHOOK_SECRET, retryGapMs: 200 }, faults: late }));
    const kit = resources.add(await startHandlerKit({ apiUrl: sandbox.url, prefix }));

    const unresolved = await endUnresolved(kit, sandbox, 'late-1', late);
    const resolution = await resolutionOf(kit, 'late-1');
    const [order] = ordersOf(sandbox, 'late-1');
    expect(resolution).toMatchObject({ merchant_order_id: 'late-1', status: 'completed', resolves: 'unresolved', source: 'webhook', order_id: order?.id, codes: order?.codes });
    expect(((await kit.results.getJob(resultJobId('late-1'))) as Job<OrderResult> | undefined)?.data).toEqual(unresolved);
    expect(await resultJobIds(kit, 'late-1')).toEqual([resolutionJobId('late-1'), resultJobId('late-1')].sort());
    await vi.waitFor(async () => expect(await kit.state('late-1')).toMatchObject({ resolution: { kind: 'resolved', emitted: true } }), { timeout: WAIT_MS });
    expect(await kit.jobState('late-1')).toBe('completed');
    expect(await receiverCount(receiver, 'voodoo_resolutions_total', { status: 'completed', source: 'webhook' })).toBe(1);
    expect(await receiverCount(receiver, 'voodoo_results_total')).toBe(0);

    // An operator asking afterwards is told it is resolved already: nothing more is emitted.
    expect(await resolve(kit, 'late-1', order?.id ?? '')).toMatchObject({ outcome: 'already_resolved', status: 'completed', source: 'webhook' });
    expect(await resultJobIds(kit, 'late-1')).toHaveLength(2);
  });
});

describe('when an operator resolves an unresolved order by hand', () => {
  async function setup(fulfilmentMs = 30): Promise<{ kit: HandlerKit; sandbox: LocalSandbox }> {
    // No receiver: the webhook never comes.
    const sandbox = resources.add(await startTestSandbox({ fulfilment: { minMs: fulfilmentMs, maxMs: fulfilmentMs } }));
    const kit = resources.add(await startHandlerKit({ apiUrl: sandbox.url }));
    return { kit, sandbox };
  }

  it('gives the request up once its order stayed in progress for RESOLVE_TIMEOUT_MS, and emits nothing', async () => {
    // Fulfilment far slower than the kit's clock moves: the order stays in progress throughout.
    const { kit, sandbox } = await setup(600_000);
    await endUnresolved(kit, sandbox, 'slow-1');
    const [order] = ordersOf(sandbox, 'slow-1');
    if (order === undefined) throw new Error('the landed order is missing');

    expect(await resolve(kit, 'slow-1', order.id, kit.policy.pollMaxDelayMs)).toEqual({ merchant_order_id: 'slow-1', outcome: 'refused', reason: 'timed_out' });
    expect(await resultJobIds(kit, 'slow-1')).toEqual([resultJobId('slow-1')]);
    expect(await kit.state('slow-1')).toMatchObject({ resolution: null, result: { status: 'unresolved' } });
  });

  it('looks the order up until it is terminal and emits one resolution from it; asking again is a no-op', async () => {
    // Fulfilment slower than the test's steps: the first lookups find the order in progress.
    const { kit, sandbox } = await setup(3_000);
    const unresolved = await endUnresolved(kit, sandbox, 'op-1');
    const [order] = ordersOf(sandbox, 'op-1');
    if (order === undefined) throw new Error('the landed order is missing');

    expect(order.status).not.toBe('completed');

    // The kit's clock moves little per wake: the order completes (in real time) long before RESOLVE_TIMEOUT_MS.
    expect(await resolve(kit, 'op-1', order.id, 100)).toEqual({ merchant_order_id: 'op-1', outcome: 'resolved', status: 'completed', order_id: order.id, source: 'poll' });
    // It found the order in progress first, waited, and looked again.
    expect(sandbox.stats().calls.lookup).toBeGreaterThanOrEqual(2);
    const [completed] = ordersOf(sandbox, 'op-1');
    expect(await resolutionOf(kit, 'op-1')).toMatchObject({ status: 'completed', resolves: 'unresolved', source: 'poll', order_id: order.id, price: 18, codes: completed?.codes });
    expect(((await kit.results.getJob(resultJobId('op-1'))) as Job<OrderResult> | undefined)?.data).toEqual(unresolved);
    expect(await kit.counter('voodoo_resolutions_total', { status: 'completed', source: 'poll' })).toBe(1);

    expect(await resolve(kit, 'op-1', order.id)).toMatchObject({ outcome: 'already_resolved', source: 'poll' });
    expect(await resultJobIds(kit, 'op-1')).toHaveLength(2);
    expect(await kit.counter('voodoo_resolutions_total')).toBe(1);
  });

  it('refuses an order id whose order carries another merchant_order_id, then accepts the right one', async () => {
    const { kit, sandbox } = await setup();
    await endUnresolved(kit, sandbox, 'op-2');
    await kit.enqueue({ merchant_order_id: 'someone-else', item_id: 4090, quantity: 1 });
    const other = await kit.pollUntilResult('someone-else');

    expect(await resolve(kit, 'op-2', other.order_id ?? '')).toEqual({ merchant_order_id: 'op-2', outcome: 'refused', reason: 'other_order' });
    expect(await resultJobIds(kit, 'op-2')).toEqual([resultJobId('op-2')]);
    expect(await kit.state('op-2')).toMatchObject({ resolution: null });

    const [order] = ordersOf(sandbox, 'op-2');
    expect(await resolve(kit, 'op-2', order?.id ?? '')).toMatchObject({ outcome: 'resolved', order_id: order?.id });
  });

  it('refuses an id whose result was not unresolved, and tells an unknown id apart', async () => {
    const { kit } = await setup();
    await kit.enqueue({ merchant_order_id: 'fine-1', item_id: 4090, quantity: 1 });
    const result = await kit.pollUntilResult('fine-1');
    expect(result.status).toBe('completed');

    expect(await resolve(kit, 'fine-1', result.order_id ?? '')).toEqual({ merchant_order_id: 'fine-1', outcome: 'refused', reason: 'not_unresolved' });
    expect(await resultJobIds(kit, 'fine-1')).toEqual([resultJobId('fine-1')]);
    expect(await resolve(kit, 'never-seen', result.order_id ?? '')).toEqual({ merchant_order_id: 'never-seen', outcome: 'refused', reason: 'unknown' });
  });

  it('refuses an order id the API does not know', async () => {
    const { kit, sandbox } = await setup();
    await endUnresolved(kit, sandbox, 'op-3');
    expect(await resolve(kit, 'op-3', '00000000-0000-4000-8000-000000000000')).toMatchObject({ outcome: 'refused', reason: 'order_not_found' });
    expect(await resultJobIds(kit, 'op-3')).toEqual([resultJobId('op-3')]);
  });
});

describe('when the order’s record has expired (RETENTION_SECONDS) and only its tombstone is left', () => {
  it('a late webhook is kept as an unmatched event and emits nothing; resolve answers expired', async () => {
    const prefix = uniquePrefix('oh');
    const receiver = resources.add(await startKitReceiver(prefix));
    // The sandbox sends no webhooks: the test delivers the late one itself.
    const sandbox = resources.add(await startTestSandbox());
    const kit = resources.add(await startHandlerKit({ apiUrl: sandbox.url, prefix }));
    await endUnresolved(kit, sandbox, 'old-1');
    const keys = projectKeys(prefix);
    // What RETENTION_SECONDS does to a finished record.
    await kit.redis.del(keys.order('old-1'));
    const [order] = ordersOf(sandbox, 'old-1');
    if (order === undefined) throw new Error('the landed order is missing');

    expect(await deliverSigned(receiver, completedEvent('old-1', order.id, ['LATE-1', 'LATE-2']))).toBe(200);
    expect(await kit.redis.zscore(keys.unmatchedEvents, 'old-1')).not.toBeNull();
    expect(await kit.redis.ttl(keys.order('old-1'))).toBeGreaterThan(0);
    expect(await resultJobIds(kit, 'old-1')).toEqual([resultJobId('old-1')]);
    expect(await receiverCount(receiver, 'voodoo_resolutions_total')).toBe(0);

    expect(await resolve(kit, 'old-1', order.id)).toEqual({ merchant_order_id: 'old-1', outcome: 'refused', reason: 'expired', finished_status: 'unresolved' });
    expect(await resultJobIds(kit, 'old-1')).toEqual([resultJobId('old-1')]);
  });
});
