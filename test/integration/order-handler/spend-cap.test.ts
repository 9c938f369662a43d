import { afterEach, describe, expect, it } from 'vitest';
import type { OrderResult, OrderState } from '../../../src/lifecycle/order-state.js';
import { defaultSandboxCatalog } from '../../../src/sandbox/sandbox-server.js';
import { Resources, startHandlerKit, startTestSandbox, WAIT_MS, type HandlerKit } from './handler-kit.js';

/**
 * The fleet-wide spend cap holds under concurrency (issue 7, item 4): three workers race through
 * 40 intents of 9 each against SPEND_LIMIT 90; the charged total never passes the cap, the rest wait
 * for funds (none rejected) until BALANCE_WAIT_MAX_MS, then end spend_limit_reached.
 */

const resources = new Resources();
afterEach(() => resources.close());

const COST = 9;
const LIMIT = 90;
const COUNT = 40;
/** How many orders fit under the limit. */
const FITS = LIMIT / COST;

describe('SPEND_LIMIT with three workers racing through many intents', () => {
  it('never lets the charged total pass the limit, parks the rest in waiting_funds, and rejects them only after BALANCE_WAIT_MAX_MS', async () => {
    const sandbox = resources.add(await startTestSandbox());
    const kit = resources.add(
      await startHandlerKit({
        apiUrl: sandbox.url,
        catalog: defaultSandboxCatalog(),
        workers: 3,
        concurrency: 8,
        spendLimit: { limit: LIMIT, windowMs: 60 * 60_000 },
      }),
    );
    const mids = Array.from({ length: COUNT }, (_, i) => `cap-${i}`);
    await Promise.all(mids.map((mid) => kit.enqueue({ merchant_order_id: mid, item_id: 4090, quantity: 1 })));

    // Placement stops: every order is either placed or waiting for room under the limit.
    const states = await waitUntilEvery(kit, mids, (s) => s.phase === 'placed' || s.phase === 'waiting_funds');
    const placed = states.filter((s) => s.phase === 'placed');
    const waiting = states.filter((s) => s.phase === 'waiting_funds');

    const chargedTotal = sandbox.orders().reduce((sum, o) => sum + o.price, 0);
    expect(chargedTotal).toBeLessThanOrEqual(LIMIT);
    expect(sandbox.stats().charged).toBeLessThanOrEqual(LIMIT);
    // The cap is not more cautious than it must be: exactly as many as fit were placed.
    expect(placed).toHaveLength(FITS);
    expect(sandbox.orders()).toHaveLength(FITS);
    expect(sandbox.stats().calls.create).toBe(FITS);
    expect(waiting.every((s) => s.fundsLimit === 'spend_limit' && s.attempts === 0)).toBe(true);
    expect(await kit.counter('voodoo_funds_short_total', { limit: 'spend_limit' })).toBe(COUNT - FITS);
    expect(await kit.allResults()).toEqual([]);

    // BALANCE_WAIT_MAX_MS passes (well within the spend window): the waiting ones give up, the placed ones finish.
    kit.clock.advance(kit.policy.balanceWaitMaxMs);
    const results = await waitForResults(kit, mids);

    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected).toHaveLength(COUNT - FITS);
    expect(rejected.every((r) => r.error === 'spend_limit_reached')).toBe(true);
    expect(results.filter((r) => r.status === 'completed')).toHaveLength(FITS);
    expect(sandbox.orders()).toHaveLength(FITS);
    expect(sandbox.stats().charged).toBeLessThanOrEqual(LIMIT);
  });
});

/** Wait until every order's ledger state satisfies `ok`; returns the states. */
async function waitUntilEvery(kit: HandlerKit, mids: readonly string[], ok: (s: OrderState) => boolean): Promise<OrderState[]> {
  let states: (OrderState | null)[] = [];
  await expect
    .poll(
      async () => {
        states = await Promise.all(mids.map((mid) => kit.state(mid)));
        return states.filter((s) => s === null || !ok(s)).length;
      },
      { timeout: WAIT_MS },
    )
    .toBe(0);
  return states.filter((s): s is OrderState => s !== null);
}

/** Promote every parked job (time has passed) until every order has its one result. */
async function waitForResults(kit: HandlerKit, mids: readonly string[]): Promise<OrderResult[]> {
  await expect
    .poll(
      async () => {
        await kit.promoteAll();
        return (await kit.allResults()).length;
      },
      { timeout: WAIT_MS, interval: 100 },
    )
    .toBe(mids.length);
  const results = await kit.allResults();
  expect(new Set(results.map((r) => r.merchant_order_id))).toEqual(new Set(mids));
  return results;
}
