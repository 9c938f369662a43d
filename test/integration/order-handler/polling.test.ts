import { afterEach, describe, expect, it } from 'vitest';
import { defaultSandboxCatalog } from '../../../src/sandbox/sandbox-server.js';
import type { LocalSandbox, SandboxOptions } from '../../../src/sandbox/sandbox-types.js';
import { Resources, startHandlerKit, startTestSandbox, type HandlerKit } from './handler-kit.js';

/**
 * Polling a placed order is bounded or flagged (issue 7, item 5): it backs off, never invents a
 * result, and is flagged once as stuck after ORDER_STUCK_AFTER_MS; a lookup answering 404 after
 * the create backs off like any failure.
 */

const resources = new Resources();
afterEach(() => resources.close());

async function setup(sandboxOptions: Partial<SandboxOptions>): Promise<{ sandbox: LocalSandbox; kit: HandlerKit }> {
  const sandbox = resources.add(await startTestSandbox(sandboxOptions));
  const kit = resources.add(await startHandlerKit({ apiUrl: sandbox.url, catalog: defaultSandboxCatalog() }));
  return { sandbox, kit };
}

const intent = (mid: string) => ({ merchant_order_id: mid, item_id: 4090, quantity: 2 });
const NEVER_MS = 10 * 60_000;

describe('a placed order that never reaches a terminal status', () => {
  it('is flagged stuck once after ORDER_STUCK_AFTER_MS, and is still polled without a result', async () => {
    const { sandbox, kit } = await setup({ fulfilment: { minMs: NEVER_MS, maxMs: NEVER_MS } });
    await kit.enqueue(intent('st-1'));
    await kit.parked('st-1');
    const placedAtMs = (await kit.state('st-1'))?.placedAtMs ?? 0;

    kit.clock.advance(kit.policy.orderStuckAfterMs);
    await kit.promote('st-1');
    const flagged = await kit.waitForState('st-1', (s) => s.stuckSinceMs !== null);

    expect(flagged).toMatchObject({ phase: 'placed', failures: 0 });
    expect(flagged.stuckSinceMs).toBeGreaterThanOrEqual(placedAtMs + kit.policy.orderStuckAfterMs);
    expect(await kit.counter('voodoo_orders_stuck_total')).toBe(1);
    // Still polled: parked again, at most POLL_MAX_DELAY_MS ahead (the backoff's cap).
    const { dueAtMs } = await kit.parked('st-1');
    expect(dueAtMs - kit.clock.now()).toBeLessThanOrEqual(kit.policy.pollMaxDelayMs);
    expect(dueAtMs - kit.clock.now()).toBeGreaterThan(kit.policy.pollMaxDelayMs - 5_000);
    expect(await kit.allResults()).toEqual([]);
    expect(sandbox.stats().calls.lookup).toBe(1);

    // The next poll finds it still pending: no second flag.
    kit.clock.advance(kit.policy.pollMaxDelayMs);
    await kit.promote('st-1');
    await expect.poll(() => sandbox.stats().calls.lookup).toBe(2);
    await kit.parked('st-1');
    expect(await kit.counter('voodoo_orders_stuck_total')).toBe(1);
    expect((await kit.state('st-1'))?.stuckSinceMs).toBe(flagged.stuckSinceMs);
    expect(kit.logLines.filter((l) => l.includes('order stuck'))).toHaveLength(1);
    expect(await kit.allResults()).toEqual([]);
  });
});

describe('a lookup failing with a server error', () => {
  it('backs off by the order’s consecutive failures up to RETRY_MAX_DELAY_MS, and resets once a lookup answers', async () => {
    const { sandbox, kit } = await setup({ fulfilment: { minMs: NEVER_MS, maxMs: NEVER_MS }, faults: { lookup: { serverError: 1 } } });
    const { retryBaseDelayMs, retryMaxDelayMs } = kit.policy;
    await kit.enqueue(intent('se-1'));
    await kit.parked('se-1');

    // Each failed lookup doubles the wait (jitter pinned to ×1), up to the cap.
    const waits: number[] = [];
    for (let failures = 1; failures <= 3; failures++) {
      kit.clock.advance(kit.policy.pollMaxDelayMs);
      await kit.promote('se-1');
      await kit.waitForState('se-1', (s) => s.failures === failures);
      const { dueAtMs } = await kit.parked('se-1');
      waits.push(dueAtMs - kit.clock.now());
    }
    const expected = [retryBaseDelayMs, Math.min(2 * retryBaseDelayMs, retryMaxDelayMs), Math.min(4 * retryBaseDelayMs, retryMaxDelayMs)];
    waits.forEach((wait, i) => {
      expect(wait).toBeLessThanOrEqual(expected[i] ?? 0);
      expect(wait).toBeGreaterThan((expected[i] ?? 0) - 5_000);
    });
    expect(sandbox.stats().faults['lookup.serverError']).toBe(3);

    sandbox.setFaults({});
    kit.clock.advance(retryMaxDelayMs);
    await kit.promote('se-1');
    await kit.waitForState('se-1', (s) => s.failures === 0);
    expect((await kit.state('se-1'))?.phase).toBe('placed');
    expect(await kit.allResults()).toEqual([]);
  });
});

describe('a lookup answering 404 after the create', () => {
  it('backs off, counting the failure in the order’s state, and completes once the order shows up', async () => {
    const windowMs = 1_500;
    const { sandbox, kit } = await setup({ faults: { lookup: { notFoundAfterCreate: 1, notFoundWindowMs: windowMs } } });
    await kit.enqueue(intent('nf-1'));
    await kit.parked('nf-1');

    kit.clock.advance(kit.policy.pollInitialDelayMs);
    await kit.promote('nf-1');
    const backedOff = await kit.waitForState('nf-1', (s) => s.failures === 1);
    expect(backedOff).toMatchObject({ phase: 'placed', stuckSinceMs: null });
    expect(sandbox.stats().faults['lookup.notFoundAfterCreate']).toBe(1);
    // Backoff after one failure: RETRY_BASE_DELAY_MS (the jitter is pinned to ×1).
    const { dueAtMs } = await kit.parked('nf-1');
    expect(dueAtMs - kit.clock.now()).toBeGreaterThan(kit.policy.retryBaseDelayMs - 5_000);
    expect(dueAtMs - kit.clock.now()).toBeLessThanOrEqual(kit.policy.retryBaseDelayMs);

    // The sandbox hides the order for windowMs of real time after its creation.
    const createdAtMs = Date.parse(sandbox.orders()[0]?.createdAt ?? '');
    await expect.poll(() => Date.now() - createdAtMs, { timeout: windowMs + 5_000 }).toBeGreaterThan(windowMs);
    kit.clock.advance(kit.policy.retryBaseDelayMs);
    await kit.promote('nf-1');

    expect(await kit.result('nf-1')).toMatchObject({ status: 'completed', source: 'poll' });
    expect(sandbox.stats().calls.lookup).toBe(2);
  });

  it('is flagged stuck like any placed order when the 404 never ends', async () => {
    const { kit } = await setup({ faults: { lookup: { notFoundAfterCreate: 1, notFoundWindowMs: NEVER_MS } } });
    await kit.enqueue(intent('nf-2'));
    await kit.parked('nf-2');

    kit.clock.advance(kit.policy.orderStuckAfterMs);
    await kit.promote('nf-2');
    const flagged = await kit.waitForState('nf-2', (s) => s.stuckSinceMs !== null);
    expect(flagged).toMatchObject({ phase: 'placed', failures: 1 });
    expect(await kit.counter('voodoo_orders_stuck_total')).toBe(1);
    await kit.parked('nf-2');
    expect(await kit.allResults()).toEqual([]);
  });
});
