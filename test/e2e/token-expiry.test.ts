import { afterEach, describe, expect, it } from 'vitest';
import type { SandboxOrderRecord } from '../../src/sandbox/sandbox-types.js';
import { exactlyOnce, keyIntents, mismatches, startPipeline, type FleetProcess, type Pipeline } from '../support/pipeline.js';

/** Sandbox token lifetime, ms: the sandbox refuses a token this long after issuing it. */
const TOKEN_TTL_MS = 5_000;
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

/** When the sandbox took each order `worker` logged as placed, epoch ms, earliest first. */
function placementTimes(worker: FleetProcess, orders: ReadonlyMap<string, SandboxOrderRecord>): number[] {
  const times: number[] = [];
  for (const line of worker.lines()) {
    if (!line.includes('"order placed"')) continue;
    const order = orders.get((JSON.parse(line) as { order_id: string }).order_id);
    if (order !== undefined) times.push(Date.parse(order.createdAt));
  }
  return times.sort((a, b) => a - b);
}

/**
 * The fewest exchanges a worker placing orders at `times` would have needed with tokens of its own:
 * the sandbox accepts a token for TOKEN_TTL_MS after issuing it, so one token covers less than that.
 */
function ownTokensNeeded(times: readonly number[]): number {
  const first = times[0];
  const last = times.at(-1);
  if (first === undefined || last === undefined) return 0;
  return 1 + Math.floor((last - first) / TOKEN_TTL_MS);
}

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
    // Intents keep arriving for RUN_MS (a batch every 200 ms), so the fleet needs tokens all along.
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

    const exchanges = pipeline.sandbox.stats().calls.token;
    // Tokens did expire mid-run and were replaced...
    expect(exchanges).toBeGreaterThanOrEqual(Math.floor(RUN_MS / MAX_TOKEN_USE_MS));
    // ...about once per lifetime for the fleet...
    expect(exchanges).toBeLessThanOrEqual(1 + Math.ceil(elapsed / MIN_TOKEN_USE_MS));
    // ...and fewer times than the workers would have needed each with tokens of its own, given when
    // each of them placed orders (however BullMQ happened to spread the jobs between them).
    const orders = new Map(pipeline.sandbox.orders().map((order) => [order.id, order]));
    const ownNeeds = workers.map((worker) => ownTokensNeeded(placementTimes(worker, orders)));
    expect(exchanges, `own tokens needed per worker: ${ownNeeds.join(', ')}`).toBeLessThan(ownNeeds.reduce((a, b) => a + b, 0));
  });
});
