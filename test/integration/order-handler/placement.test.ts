import { afterEach, describe, expect, it } from 'vitest';
import { defaultSandboxCatalog } from '../../../src/sandbox/sandbox-server.js';
import type { LocalSandbox } from '../../../src/sandbox/sandbox-types.js';
import { Resources, startHandlerKit, startTestSandbox, type HandlerKit } from './handler-kit.js';

/** The create → wait → lookup → emit → finish path of one order the API accepts (4090 × 2 costs 18). */

const resources = new Resources();
afterEach(() => resources.close());

async function setup(): Promise<{ sandbox: LocalSandbox; kit: HandlerKit }> {
  const sandbox = resources.add(await startTestSandbox());
  const kit = resources.add(await startHandlerKit({ apiUrl: sandbox.url, catalog: defaultSandboxCatalog() }));
  return { sandbox, kit };
}

const ordersOf = (sandbox: LocalSandbox, mid: string) => sandbox.orders().filter((o) => o.merchantOrderId === mid);

describe('create, then wait: an order the API accepts', () => {
  it('is recorded as placed with its order id, and its job parks until the first poll on the injected clock', async () => {
    const { sandbox, kit } = await setup();
    // Ten minutes ahead: the due time must come from the handler's clock, not from BullMQ's.
    kit.clock.advance(10 * 60_000);
    await kit.enqueue({ merchant_order_id: 'cw-1', item_id: 4090, quantity: 2 });

    const { dueAtMs } = await kit.parked('cw-1');
    const state = await kit.state('cw-1');
    const [order] = ordersOf(sandbox, 'cw-1');
    expect(state).toMatchObject({ phase: 'placed', orderId: order?.id, attempts: 1, maybeLanded: false, cost: 18 });
    expect(state?.placedAtMs).toBeGreaterThan(Date.now() + 9 * 60_000);
    // Parked until placedAt + POLL_INITIAL_DELAY_MS, on the injected clock.
    // (The delayed set's score is the due time; the job hash's `delay` field is not read: BullMQ does
    // not always rewrite it when a job moves itself to delayed.)
    expect(dueAtMs).toBe((state?.placedAtMs ?? 0) + kit.policy.pollInitialDelayMs);
    expect(dueAtMs).toBeGreaterThan(Date.now() + 9 * 60_000);
    expect(sandbox.stats().calls.create).toBe(1);
    // The cost stays reserved while the order is in flight.
    expect(await kit.reservations()).toEqual({ 'cw-1': expect.stringMatching(/:18$/) as unknown });
    expect(await kit.allResults()).toEqual([]);
  });
});

describe('lookup: the parked job of a placed order', () => {
  it('looks the order up when it runs and emits the result it learned from the poll', async () => {
    const { sandbox, kit } = await setup();
    await kit.enqueue({ merchant_order_id: 'lk-1', item_id: 4090, quantity: 2 });
    await kit.parked('lk-1');
    await expect.poll(() => ordersOf(sandbox, 'lk-1')[0]?.status).toBe('completed');
    expect(sandbox.stats().calls.lookup).toBe(0);

    kit.clock.advance(kit.policy.pollInitialDelayMs);
    await kit.promote('lk-1');

    const result = await kit.result('lk-1');
    const [order] = ordersOf(sandbox, 'lk-1');
    expect(result).toMatchObject({
      status: 'completed',
      source: 'poll',
      order_id: order?.id,
      item_id: 4090,
      quantity: 2,
      price: 18,
      delivered_quantity: 2,
      codes: order?.codes,
      error: null,
      warnings: [],
    });
    expect(sandbox.stats().calls.lookup).toBe(1);
    expect(sandbox.stats().calls.create).toBe(1);
  });
});

describe('emit, result_emitted, finish: a finished order', () => {
  it('adds one result job, marks the ledger emitted, releases the funds reservation and completes its job', async () => {
    const { kit } = await setup();
    await kit.enqueue({ merchant_order_id: 'em-1', item_id: 4090, quantity: 2 });
    const result = await kit.pollUntilResult('em-1');
    expect(result.status).toBe('completed');

    expect(await kit.jobState('em-1')).toBe('completed');
    expect(await kit.state('em-1')).toMatchObject({ phase: 'done', emitted: true, result: { status: 'completed' } });
    expect((await kit.allResults()).filter((r) => r.merchant_order_id === 'em-1')).toHaveLength(1);
    expect(await kit.emissions('em-1')).toBe(1);
    expect(await kit.reservations()).toEqual({});
    expect(await kit.counter('voodoo_results_total', { status: 'completed', source: 'poll' })).toBe(1);
    // The intent job's return value names the outcome.
    const job = await kit.intents.getJob('intent-em-1');
    expect(job?.returnvalue).toMatchObject({ merchant_order_id: 'em-1', status: 'completed', order_id: result.order_id });
  });
});
