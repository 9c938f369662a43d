import { afterEach, describe, expect, it } from 'vitest';
import { exactlyOnce, keyIntents, mismatches, startPipeline, type Pipeline } from '../support/pipeline.js';

/** Sandbox token lifetime, ms. */
const TOKEN_TTL_MS = 6_000;
/** Workers re-exchange this long before expiry, ms. */
const REFRESH_MARGIN_MS = 500;
/**
 * Shortest and longest time a token serves before the fleet exchanges again, ms. The JWT `exp` is
 * in whole seconds, so the client sees a lifetime of (TTL - 1 s, TTL]; it refreshes MARGIN before that.
 */
const MIN_TOKEN_USE_MS = TOKEN_TTL_MS - 1_000 - REFRESH_MARGIN_MS;
const MAX_TOKEN_USE_MS = TOKEN_TTL_MS - REFRESH_MARGIN_MS;
/** How long intents keep arriving, ms: a few token lifetimes. */
const RUN_MS = 12_000;

let pipeline: Pipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

describe('when access tokens expire while two workers run continuously', () => {
  it('re-exchanges the key about once per token lifetime for the whole fleet, not once per worker', async () => {
    pipeline = await startPipeline({
      sandbox: { tokenTtlMs: TOKEN_TTL_MS, fulfilment: { minMs: 20, maxMs: 80, outcomes: { completed: 8, partial: 1, failed: 1 } } },
      env: { TOKEN_REFRESH_MARGIN_MS: String(REFRESH_MARGIN_MS) },
    });
    await pipeline.startWebhook();
    const workers = await Promise.all([pipeline.startWorker(), pipeline.startWorker()]);

    const started = Date.now();
    const mids: string[] = [];
    for (let round = 0; Date.now() - started < RUN_MS; round++) {
      const batch = keyIntents(`tok-${round}`, 8);
      await pipeline.enqueue(batch);
      mids.push(...batch.map((i) => i.merchant_order_id));
      await new Promise((r) => setTimeout(r, 200));
    }
    const results = await pipeline.waitForResults(mids.length);
    const elapsed = Date.now() - started;

    expect(await exactlyOnce(pipeline, mids)).toEqual([]);
    expect(mismatches(results, pipeline.sandbox)).toEqual([]);
    expect([...results.values()].filter((r) => r.status === 'rejected' || r.status === 'unresolved')).toEqual([]);
    // Both workers were busy all along, so each would have needed tokens of its own.
    for (const worker of workers) expect(worker.lines.filter((l) => l.includes('order placed')).length).toBeGreaterThan(20);

    const exchanges = pipeline.sandbox.stats().calls.token;
    // Tokens did expire mid-run and were replaced...
    expect(exchanges).toBeGreaterThanOrEqual(Math.floor(RUN_MS / MAX_TOKEN_USE_MS));
    // ...about once per lifetime for the fleet. Two busy workers exchanging their own tokens would need
    // at least 2 × (1 + floor(RUN_MS / MAX_TOKEN_USE_MS)) = 6 over the run, above this bound (4 when
    // the run takes up to 13.5 s, 5 up to 18 s).
    expect(exchanges).toBeLessThanOrEqual(1 + Math.ceil(elapsed / MIN_TOKEN_USE_MS));
  });
});
