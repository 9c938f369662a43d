import { afterEach, describe, expect, it } from 'vitest';
import { signWebhook } from '../../src/webhook/signature.js';
import { API_KEY, exactlyOnce, keyIntents, postWebhook, startPipeline, WEBHOOK_SECRET, type Pipeline } from '../support/pipeline.js';

let pipeline: Pipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

/** Sandbox token lifetime, in ms. */
const TOKEN_TTL_MS = 3_000;

/** Anything shaped like a JWT (every access token's header starts `eyJ`). */
const JWT_SHAPE = /eyJ[A-Za-z0-9_-]+/;
/** Anything shaped like a sandbox key code, delivered or not. */
const CODE_SHAPE = /VOODOO-[A-Z2-9]{4}-/;

describe('across a run full of faults, at debug level', () => {
  it('never writes the API key, an access token, the webhook secret or a delivered code to any log line', async () => {
    pipeline = await startPipeline({
      sandbox: {
        tokenTtlMs: TOKEN_TTL_MS,
        fulfilment: { minMs: 20, maxMs: 150, outcomes: { completed: 6, partial: 3, failed: 1 } },
        faults: {
          token: { unavailable: 0.3 },
          balance: { serverError: 0.2, rateLimited: 0.1 },
          create: { resetAfterCommit: 0.1, badGatewayAfterCommit: 0.1, hangAfterCommit: 0.1, unavailableBeforeCommit: 0.1, rateLimited: 0.05 },
          lookup: { serverError: 0.2, rateLimited: 0.05, notFoundAfterCreate: 0.3 },
          webhook: { duplicate: 0.3, delay: 0.2, delayMs: 300 },
          hangMs: 1_000,
        },
      },
      env: { LOG_LEVEL: 'debug', HTTP_TIMEOUT_MS: '400', TOKEN_REFRESH_MARGIN_MS: '500', RESOLVE_TIMEOUT_MS: '8000' },
    });
    await pipeline.startWebhook();
    await Promise.all([pipeline.startWorker(), pipeline.startWorker()]);
    const intents = keyIntents('secrets', 60, 3);
    const mids = intents.map((i) => i.merchant_order_id);
    // Two batches, a token lifetime apart, so the run certainly spans a token re-exchange.
    await pipeline.enqueue(intents.slice(0, 30));
    await pipeline.waitForResults(30, 45_000);
    await new Promise((r) => setTimeout(r, TOKEN_TTL_MS + 500));
    await pipeline.enqueue(intents.slice(30));
    // A few invalid and forged deliveries, whose bodies carry codes of their own.
    const forged = JSON.stringify({ order_id: 'x', merchant_order_id: 'secrets-0', status: 'completed', codes: ['FORGED-LEAK-CHECK'] });
    expect(await postWebhook(pipeline.webhookUrl, forged, signWebhook('whsec_wrong_secret_0000', forged))).toBe(401);
    expect(await postWebhook(pipeline.webhookUrl, '{"codes":["MALFORMED-LEAK-CHECK"', signWebhook(WEBHOOK_SECRET, '{"codes":["MALFORMED-LEAK-CHECK"'))).toBe(400);

    await pipeline.waitForResults(intents.length, 45_000);
    expect(await exactlyOnce(pipeline, mids)).toEqual([]);
    const { sandbox } = pipeline;
    // The run did go through the faulty paths.
    expect(Object.keys(sandbox.stats().faults).length).toBeGreaterThanOrEqual(6);
    expect(sandbox.stats().calls.token).toBeGreaterThan(1);

    const codes = sandbox.orders().flatMap((o) => o.codes);
    expect(codes.length).toBeGreaterThan(0);
    const lines = pipeline.logLines();
    // Enough lines to mean something: every order logs at least its placement and its result.
    expect(lines.length).toBeGreaterThan(2 * intents.length);
    const leaks: string[] = [];
    for (const line of lines) {
      if (line.includes(API_KEY)) leaks.push(`API key: ${line}`);
      if (line.includes(WEBHOOK_SECRET)) leaks.push(`webhook secret: ${line}`);
      if (JWT_SHAPE.test(line)) leaks.push(`token: ${line}`);
      if (line.includes('LEAK-CHECK')) leaks.push(`posted code: ${line}`);
      if (CODE_SHAPE.test(line)) leaks.push(`code-shaped: ${line}`);
      const code = codes.find((c) => line.includes(c));
      if (code !== undefined) leaks.push(`code ${code}: ${line}`);
    }
    expect(leaks).toEqual([]);
  }, 120_000);
});
