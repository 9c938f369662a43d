import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { projectKeys } from '../../../src/redis/keys.js';
import type { FaultConfig, LocalSandbox } from '../../../src/sandbox/sandbox-types.js';
import { apiOrder } from '../../support/lifecycle.js';
import { WEBHOOK_SECRET } from '../../support/pipeline.js';
import { uniquePrefix } from '../../support/redis.js';
import { defaultSandboxCatalog } from '../../../src/sandbox/sandbox-server.js';
import { completedEvent, deliverSigned, Resources, startHandlerKit, startKitReceiver, startTestSandbox, type HandlerKit, type KitReceiver } from './handler-kit.js';

/**
 * The webhook fast path (issue 7, items 6 and 7): the receiver finalizes a placed order from its
 * event with the same decision function, emits its one result and removes the parked intent job;
 * an event for another order id under the same merchant_order_id is kept aside and blocks nothing.
 */

const resources = new Resources();
afterEach(() => resources.close());

/** Receiver first (the sandbox needs its URL), then the sandbox, then the workers, on one prefix. */
async function setup(fulfilmentMs: number, faults: FaultConfig = {}): Promise<{ receiver: KitReceiver; sandbox: LocalSandbox; kit: HandlerKit }> {
  const prefix = uniquePrefix('oh');
  const receiver = resources.add(await startKitReceiver(prefix));
  const sandbox = resources.add(
    await startTestSandbox({
      fulfilment: { minMs: fulfilmentMs, maxMs: fulfilmentMs },
      webhook: { url: receiver.webhookUrl, secret: WEBHOOK_SECRET, retryGapMs: 200 },
      faults,
    }),
  );
  const kit = resources.add(await startHandlerKit({ apiUrl: sandbox.url, prefix, catalog: defaultSandboxCatalog() }));
  return { receiver, sandbox, kit };
}

const intent = (mid: string) => ({ merchant_order_id: mid, item_id: 4090, quantity: 2 });
const ordersOf = (sandbox: LocalSandbox, mid: string) => sandbox.orders().filter((o) => o.merchantOrderId === mid);

describe('a placed order finalized by its webhook', () => {
  it('gets exactly one result, from the webhook; its intent job completed at the hand-off and its reminder goes with the result', async () => {
    const { receiver, sandbox, kit } = await setup(500);
    await kit.enqueue(intent('wh-1'));
    const { remindAtMs } = await kit.handedOff('wh-1');
    // A receiver is alive: no parked job, and the safety-net poll (the reminder) is due after POLL_WEBHOOK_DELAY_MS.
    expect(remindAtMs).toBe(((await kit.state('wh-1'))?.placedAtMs ?? 0) + kit.policy.pollWebhookDelayMs);
    expect(await kit.intents.getDelayedCount()).toBe(0);

    // No promote, no clock: the event alone settles it.
    const result = await kit.result('wh-1');
    const [order] = ordersOf(sandbox, 'wh-1');
    expect(result).toMatchObject({ status: 'completed', source: 'webhook', order_id: order?.id, codes: order?.codes, price: 18 });
    expect(await kit.jobState('wh-1')).toBe('completed');
    expect((await kit.intents.getJob('intent-wh-1'))?.returnvalue).toEqual({ merchant_order_id: 'wh-1', handed_off: true, order_id: order?.id });
    await expect.poll(() => kit.redis.zscore(projectKeys(kit.prefix).reminders, 'wh-1')).toBeNull();
    expect(await kit.state('wh-1')).toMatchObject({ phase: 'done', emitted: true, remindAtMs: null });
    expect(await kit.emissions('wh-1')).toBe(1);
    expect(await kit.reservations()).toEqual({});
    expect(sandbox.stats().calls.lookup).toBe(0);
    // The receiver emitted it; no worker did.
    expect(await receiverResults(receiver)).toBe(1);
    expect(await kit.counter('voodoo_results_total')).toBe(0);
  });
});

describe('a webhook that arrives while the create’s answer is still on its way', () => {
  it('settles the order once: the job meets the finished order when the answer comes, and is not parked', async () => {
    // The order commits, completes and is announced at once; its 201 comes 300 ms later.
    const { receiver, sandbox, kit } = await setup(0, { create: { hangAfterCommit: 1 }, hangMs: 300 });
    await kit.enqueue(intent('wh-race'));

    const result = await kit.result('wh-race');
    const [order] = ordersOf(sandbox, 'wh-race');
    expect(result).toMatchObject({ status: 'completed', source: 'webhook', order_id: order?.id });
    await expect.poll(() => kit.jobState('wh-race')).toBe('completed');
    expect((await kit.intents.getJob('intent-wh-race'))?.returnvalue).toMatchObject({ status: 'completed', order_id: order?.id });
    expect(await kit.emissions('wh-race')).toBe(1);
    expect(await receiverResults(receiver)).toBe(1);
    expect(await kit.counter('voodoo_results_total')).toBe(0);
    expect(await kit.state('wh-race')).toMatchObject({ phase: 'done', emitted: true, attempts: 1 });
    expect(await kit.reservations()).toEqual({});
  });
});

describe('a stored event the receiver could not apply (it died after storing it)', () => {
  it('is applied by the order’s job when it wakes: the result comes from the event, without a lookup', async () => {
    const sandbox = resources.add(await startTestSandbox({ fulfilment: { minMs: 0, maxMs: 0 } }));
    const kit = resources.add(await startHandlerKit({ apiUrl: sandbox.url, catalog: defaultSandboxCatalog() }));
    await kit.enqueue(intent('wh-stored'));
    await kit.parked('wh-stored');
    const [order] = ordersOf(sandbox, 'wh-stored');
    await expect.poll(() => ordersOf(sandbox, 'wh-stored')[0]?.status).toBe('completed');

    const stored = await kit.ledger.recordEvent('wh-stored', apiOrder('wh-stored', order?.id ?? '', 'completed'));
    expect(stored.outcome).toBe('stored');
    kit.clock.advance(kit.policy.pollInitialDelayMs);
    await kit.promote('wh-stored');

    expect(await kit.result('wh-stored')).toMatchObject({ status: 'completed', source: 'webhook', order_id: order?.id, codes: ['CODE-1', 'CODE-2'] });
    expect(sandbox.stats().calls.lookup).toBe(0);
    expect(await kit.emissions('wh-stored')).toBe(1);
  });
});

describe('a signed event for another order id with the same merchant_order_id', () => {
  it('is kept aside and does not block the real event, which still finalizes the order at once', async () => {
    const { receiver, sandbox, kit } = await setup(1_500);
    await kit.enqueue(intent('wh-2'));
    await kit.handedOff('wh-2');
    const [order] = ordersOf(sandbox, 'wh-2');
    expect(order?.status).not.toBe('completed');

    const foreignId = randomUUID();
    expect(await deliverSigned(receiver, completedEvent('wh-2', foreignId, ['FOREIGN-1', 'FOREIGN-2']))).toBe(200);

    const aside = await kit.redis.lrange(projectKeys(kit.prefix).conflictingEvents, 0, -1);
    // Who and what only: the event itself may carry delivered codes, which are money.
    expect(aside.map((entry) => JSON.parse(entry) as unknown)).toEqual([{ merchant_order_id: 'wh-2', order_id: foreignId, status: 'completed' }]);
    const record = await kit.ledger.load('wh-2');
    expect(record?.webhookOrder).toBeNull();
    expect(record?.state).toMatchObject({ phase: 'placed', orderId: order?.id });
    expect(await kit.jobState('wh-2')).toBe('completed');
    expect(await kit.allResults()).toEqual([]);

    // The sandbox's own event arrives when the order completes: finalized without a poll.
    const result = await kit.result('wh-2');
    expect(result).toMatchObject({ status: 'completed', source: 'webhook', order_id: order?.id });
    await expect.poll(() => kit.redis.zscore(projectKeys(kit.prefix).reminders, 'wh-2')).toBeNull();
    expect(await kit.jobState('wh-2')).toBe('completed');
    expect(await kit.emissions('wh-2')).toBe(1);
    expect(sandbox.stats().calls.lookup).toBe(0);
  });
});

describe('a signed event for an order this system never sent (it waits for funds)', () => {
  it('is decided by the machine: rejected as a duplicate merchant_order_id, never adopted, nothing sent', async () => {
    const prefix = uniquePrefix('oh');
    const receiver = resources.add(await startKitReceiver(prefix));
    const sandbox = resources.add(await startTestSandbox({ initialBalance: 10 }));
    const kit = resources.add(await startHandlerKit({ apiUrl: sandbox.url, prefix, catalog: defaultSandboxCatalog() }));
    await kit.enqueue(intent('wh-early'));
    await kit.waitForState('wh-early', 'waiting_funds');
    await kit.parked('wh-early');

    // Someone else placed an order under this merchant_order_id.
    expect(await deliverSigned(receiver, completedEvent('wh-early', randomUUID(), ['FOREIGN-1', 'FOREIGN-2']))).toBe(200);

    const result = await kit.result('wh-early');
    expect(result).toMatchObject({ status: 'rejected', error: 'duplicate_merchant_order_id', order_id: null, codes: [] });
    expect(await kit.jobState('wh-early')).toBe('unknown');
    expect(await kit.emissions('wh-early')).toBe(1);
    expect(sandbox.stats().calls.create).toBe(0);
  });
});

async function receiverResults(receiver: KitReceiver): Promise<number> {
  const metric = receiver.metrics.registry.getSingleMetric('voodoo_results_total');
  const values = (await metric?.get())?.values ?? [];
  return values.reduce((sum, v) => sum + v.value, 0);
}
