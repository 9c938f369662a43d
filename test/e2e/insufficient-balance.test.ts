import { get } from 'node:http';
import { Job } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../tools/fleet/private-redis.js';
import { intentJobId } from '../../src/queue/job-ids.js';
import { exactlyOnce, keyIntents, mismatches, SAMPLE_CATALOG_PATH, sandboxOrdersOf, startPipeline, type Pipeline } from '../support/pipeline.js';

/** Price of one unit of the sample key item 4090, major units. */
const UNIT_PRICE = 9;
/** Enough for this many of the intents below. */
const AFFORDABLE = 5;

let pipeline: Pipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

async function startShortOfFunds(env: Record<string, string> = {}): Promise<Pipeline> {
  const started = await startPipeline({
    sandbox: { initialBalance: AFFORDABLE * UNIT_PRICE, fulfilment: { minMs: 20, maxMs: 80, outcomes: { completed: 1, partial: 0, failed: 0 } } },
    // With the catalog the fleet knows each order's cost, so it can tell "short" before sending.
    env: { CATALOG_PATH: SAMPLE_CATALOG_PATH, ...env },
  });
  pipeline = started;
  await started.startWebhook();
  metricsPorts = [await freePort(), await freePort()];
  await Promise.all(metricsPorts.map((port) => started.startWorker({ METRICS_PORT: String(port) })));
  return started;
}

/** METRICS_PORT of each worker of the current pipeline. */
let metricsPorts: number[] = [];

/** Sum of a counter (all label sets matching `labels`) over every worker's GET /metrics. */
async function counter(name: string, labels = ''): Promise<number> {
  let total = 0;
  for (const port of metricsPorts) {
    const text = await new Promise<string>((resolve, reject) => {
      // agent: false, so the socket closes with the response (the leak check counts sockets).
      get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name}${labels === '' ? '' : `{${labels}}`} `) || (labels === '' && line.startsWith(`${name}{`))) {
        total += Number(line.split(' ').pop());
      }
    }
  }
  return total;
}

/** How many times a worker has started each of these intents' jobs (BullMQ's attemptsStarted). */
async function runsOf(p: Pipeline, mids: readonly string[]): Promise<number[]> {
  return Promise.all(mids.map(async (mid) => (await Job.fromId(p.intents, intentJobId(mid)))?.attemptsStarted ?? 0));
}

describe('when the balance cannot cover every intent', () => {
  it('waits without rejecting or placing more, then completes everything by itself after a top-up', async () => {
    const p = await startShortOfFunds();
    const intents = keyIntents('funds', 12, 1);
    const mids = intents.map((i) => i.merchant_order_id);
    await p.enqueue(intents);

    await p.waitForResults(AFFORDABLE);
    // The rest wait: across several of their wake-ups no result appears and no create is sent.
    const createsWhenShort = p.sandbox.stats().calls.create;
    const short = mids.filter((mid) => !p.sandbox.orders().some((order) => order.merchantOrderId === mid));
    expect(short).toHaveLength(intents.length - AFFORDABLE);
    // Each short intent's job runs twice more: it wakes, checks the funds and parks again.
    const runsBefore = await runsOf(p, short);
    await expect
      .poll(async () => (await runsOf(p, short)).filter((runs, i) => runs >= (runsBefore[i] ?? 0) + 2).length, { timeout: 20_000 })
      .toBe(short.length);
    const waiting = await p.readResults();
    expect(waiting.size).toBe(AFFORDABLE);
    expect([...waiting.values()].every((r) => r.status === 'completed')).toBe(true);
    expect(p.sandbox.stats().calls.create).toBe(createsWhenShort);
    expect(p.sandbox.orders()).toHaveLength(AFFORDABLE);
    expect(await p.intents.getFailedCount()).toBe(0);
    expect(p.logLines().some((line) => line.includes('waiting for funds'))).toBe(true);
    // ... and counts it, on each worker's metrics endpoint.
    expect(await counter('voodoo_funds_short_total')).toBeGreaterThan(0);
    expect(await counter('voodoo_api_calls_total', 'endpoint="create"')).toBe(createsWhenShort);
    // The fleet-wide gauge, the same on every worker, counts the orders waiting.
    expect(await counter('voodoo_intents_waiting_for_funds')).toBe(short.length * metricsPorts.length);

    p.sandbox.topUp((intents.length - AFFORDABLE) * UNIT_PRICE);
    const results = await p.waitForResults(intents.length);
    expect(await counter('voodoo_intents_waiting_for_funds')).toBe(0);
    expect(await exactlyOnce(p, mids)).toEqual([]);
    expect(mismatches(results, p.sandbox)).toEqual([]);
    expect([...results.values()].every((r) => r.status === 'completed')).toBe(true);
    expect(p.sandbox.balance()).toBe(0);
  });

  it('rejects the intents still waiting after BALANCE_WAIT_MAX_MS as insufficient_balance', async () => {
    const p = await startShortOfFunds({ BALANCE_WAIT_MAX_MS: '1500' });
    const intents = keyIntents('broke', 12, 1);
    const mids = intents.map((i) => i.merchant_order_id);
    await p.enqueue(intents);

    const results = await p.waitForResults(intents.length, 20_000);
    expect(await exactlyOnce(p, mids)).toEqual([]);
    expect(mismatches(results, p.sandbox)).toEqual([]);
    const rejected = [...results.values()].filter((r) => r.status === 'rejected');
    expect(rejected).toHaveLength(intents.length - AFFORDABLE);
    for (const result of rejected) {
      expect(result).toMatchObject({ error: 'insufficient_balance', source: 'worker', order_id: null, price: null });
      expect(sandboxOrdersOf(p.sandbox, result.merchant_order_id)).toEqual([]);
    }
    expect([...results.values()].filter((r) => r.status === 'completed')).toHaveLength(AFFORDABLE);
  });
});
