import { afterEach, describe, expect, it } from 'vitest';
import type { FaultConfig } from '../../src/sandbox/sandbox-types.js';
import { exactlyOnce, keyIntents, mismatches, sandboxOrdersOf, startPipeline, type Pipeline } from '../support/pipeline.js';

let pipeline: Pipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

describe('when a create lands but its answer is lost (reset, 502, timeout)', () => {
  it('learns the order from the webhook after the retry answers "duplicate", with the right order_id', async () => {
    // Fulfilment slower than a retry, so the retry meets the landed order and answers "duplicate"
    // before the webhook can tell the outcome.
    pipeline = await startPipeline({
      sandbox: { fulfilment: { minMs: 2_000, maxMs: 2_500, outcomes: { completed: 6, partial: 2, failed: 2 } }, faults: { hangMs: 5_000 } },
      env: { HTTP_TIMEOUT_MS: '400', RESOLVE_TIMEOUT_MS: '15000' },
    });
    await pipeline.startWebhook();
    await Promise.all([pipeline.startWorker(), pipeline.startWorker()]);
    const { sandbox } = pipeline;

    // Every first attempt of a phase lands and loses its answer, one fault kind per phase.
    const phases: [string, FaultConfig][] = [
      ['reset', { create: { resetAfterCommit: 1 }, hangMs: 5_000 }],
      ['bad-gateway', { create: { badGatewayAfterCommit: 1 }, hangMs: 5_000 }],
      ['hang', { create: { hangAfterCommit: 1 }, hangMs: 5_000 }],
    ];
    const all: string[] = [];
    for (const [label, faults] of phases) {
      sandbox.setFaults(faults);
      const intents = keyIntents(label, 4, 2);
      await pipeline.enqueue(intents);
      all.push(...intents.map((i) => i.merchant_order_id));
      // The next phase's fault must not meet this phase's first attempts.
      await expect.poll(() => intents.every((i) => sandboxOrdersOf(sandbox, i.merchant_order_id).length === 1), { timeout: 10_000 }).toBe(true);
    }
    sandbox.setFaults({});

    const results = await pipeline.waitForResults(all.length);
    expect(await exactlyOnce(pipeline, all)).toEqual([]);
    expect(mismatches(results, sandbox)).toEqual([]);
    for (const mid of all) {
      const result = results.get(mid);
      expect(result?.source, mid).toBe('webhook');
      expect(result?.order_id, mid).toBe(sandboxOrdersOf(sandbox, mid)[0]?.id);
      expect(result?.status, mid).toMatch(/^(completed|partial|failed)$/);
    }
    const faults = sandbox.stats().faults;
    expect(faults['create.resetAfterCommit']).toBe(4);
    expect(faults['create.badGatewayAfterCommit']).toBe(4);
    expect(faults['create.hangAfterCommit']).toBe(4);
    // Each id was retried at least once, and every retry met the landed order ("duplicate").
    expect(sandbox.stats().calls.create).toBeGreaterThanOrEqual(2 * all.length);
  });
});

describe('when a create lands, its answer is lost and the webhook never comes', () => {
  it('ends unresolved after RESOLVE_TIMEOUT_MS naming the merchant_order_id, with the order charged once', async () => {
    pipeline = await startPipeline({
      sandbox: { faults: { create: { resetAfterCommit: 1 }, webhook: { drop: 1 } } },
      env: { RESOLVE_TIMEOUT_MS: '3000' },
    });
    await pipeline.startWebhook();
    await pipeline.startWorker();
    const intents = keyIntents('lost', 3, 2);
    await pipeline.enqueue(intents);
    const mids = intents.map((i) => i.merchant_order_id);

    const results = await pipeline.waitForResults(intents.length, 20_000);
    expect(await exactlyOnce(pipeline, mids)).toEqual([]);
    const { sandbox } = pipeline;
    for (const mid of mids) {
      const result = results.get(mid);
      expect(result).toMatchObject({ status: 'unresolved', error: 'unresolved', source: 'worker', order_id: null, codes: [] });
      expect(result?.error_message).toContain(`"${mid}"`);
      const orders = sandboxOrdersOf(sandbox, mid);
      expect(orders).toHaveLength(1);
    }
    // Charged once per id, although each id was sent more than once.
    const prices = sandbox.orders().reduce((sum, o) => sum + o.price, 0);
    expect(sandbox.stats().charged).toBeCloseTo(prices, 6);
    expect(sandbox.orders()).toHaveLength(mids.length);
    expect(sandbox.stats().calls.create).toBeGreaterThan(mids.length);
    expect(sandbox.stats().webhooks.dropped).toBe(mids.length);
  });
});
