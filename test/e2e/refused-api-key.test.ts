import { afterEach, describe, expect, it } from 'vitest';
import { exactlyOnce, keyIntents, mismatches, startPipeline, type Pipeline } from '../support/pipeline.js';

/** The fleet's pause after a refused key, in ms (AUTH_FAILURE_PAUSE_MS). */
const PAUSE_MS = 3_000;
/** Longest the fleet may take to notice a fixed key (one pause), plus slack, in ms. */
const RESUME_MS = PAUSE_MS + 20_000;

let pipeline: Pipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('when the account refuses the API key', () => {
  it('places nothing, keeps intents waiting with live workers and one loud error, and resumes once fixed', async () => {
    pipeline = await startPipeline({ sandbox: { apiKeyAuthDisabled: true }, env: { AUTH_FAILURE_PAUSE_MS: String(PAUSE_MS) } });
    await pipeline.startWebhook();
    const workers = await Promise.all([pipeline.startWorker(), pipeline.startWorker()]);
    const intents = keyIntents('nokey', 20);
    const mids = intents.map((i) => i.merchant_order_id);
    await pipeline.enqueue(intents);
    const { sandbox } = pipeline;

    await expect.poll(() => sandbox.stats().calls.token, { timeout: 10_000 }).toBeGreaterThan(0);
    const exchangesBefore = sandbox.stats().calls.token;
    // Long enough for several pauses to run out: each round meets the refusal again.
    await sleep(3 * PAUSE_MS);
    expect(sandbox.stats().calls.create).toBe(0);
    // About one refused exchange per worker process per round (three rounds, one more starting),
    // not one per job that resumes (20 jobs).
    expect(sandbox.stats().calls.token - exchangesBefore).toBeLessThanOrEqual(workers.length * 4);
    expect(sandbox.orders()).toEqual([]);
    expect((await pipeline.readResults()).size).toBe(0);
    expect(await pipeline.intents.getFailedCount()).toBe(0);
    expect(await pipeline.intents.getJobCountByTypes('waiting', 'delayed', 'active', 'prioritized')).toBe(intents.length);
    expect(workers.every((w) => w.child.exitCode === null && w.child.signalCode === null)).toBe(true);
    // One loud error per worker process for the whole outage, not one per job (20 jobs met it).
    const errors = pipeline.logLines().filter((line) => /"level":(50|60)/.test(line));
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors.length).toBeLessThanOrEqual(workers.length);
    for (const line of errors) expect(line).toContain('the API key was refused');

    // Fixed on the dashboard: the fleet notices by itself when its pause runs out.
    sandbox.setApiKeyAuthDisabled(false);
    const results = await pipeline.waitForResults(intents.length, RESUME_MS);
    expect(await exactlyOnce(pipeline, mids)).toEqual([]);
    expect(mismatches(results, sandbox)).toEqual([]);
    expect(workers.every((w) => w.child.exitCode === null && w.child.signalCode === null)).toBe(true);
  }, RESUME_MS + 30_000);
});
