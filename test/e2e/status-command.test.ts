import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../tools/fleet/private-redis.js';
import type { OrderStatusReport } from '../../src/status/order-status.js';
import { keyIntents, startPipeline, type Pipeline } from '../support/pipeline.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';
import { runCli } from '../support/run-cli.js';

let pipeline: Pipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

describe('voodoo-fulfillment status', () => {
  it('tells a finished order, one still waiting for a worker and one never enqueued apart, without printing codes', async () => {
    pipeline = await startPipeline({ sandbox: { fulfilment: { minMs: 10, maxMs: 30, outcomes: { completed: 1, partial: 0, failed: 0 } } } });
    await pipeline.startWebhook();
    const worker = await pipeline.startWorker();
    const [done, waiting] = keyIntents('status', 2, 2);
    if (done === undefined || waiting === undefined) throw new Error('no intents');
    await pipeline.enqueue([done]);
    await pipeline.waitForResults(1);
    // No worker left: the next intent stays in the queue.
    await worker.stop('SIGTERM');
    await pipeline.enqueue([waiting]);
    const env = { REDIS_URL: pipeline.redisUrl, QUEUE_PREFIX: pipeline.prefix, LOG_LEVEL: 'warn' };

    const text = await runCli(['status', done.merchant_order_id, waiting.merchant_order_id, 'status-never'], env);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(1);
    const [doneLine, waitingLine, neverLine] = text.stdout.trim().split('\n');
    const order = pipeline.sandbox.orders().find((o) => o.merchantOrderId === done.merchant_order_id);
    if (order === undefined) throw new Error('the sandbox has no order');
    expect(doneLine).toContain(`status-0: done — order ${order.id}, 1 attempt(s)`);
    expect(doneLine).toContain('result completed (job waiting, 2 code(s) in the result job (not shown))');
    expect(waitingLine).toBe('status-1: queued, waiting for a worker — intent job prioritized');
    expect(neverLine).toBe('status-never: unknown — never enqueued (or removed)');
    for (const code of order.codes) expect(text.stdout).not.toContain(code);

    const json = await runCli(['status', '--json', done.merchant_order_id], env);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as OrderStatusReport;
    expect(report).toMatchObject({
      merchant_order_id: 'status-0',
      phase: 'done',
      order_id: order.id,
      attempts: 1,
      final_status: 'completed',
      webhook_status: 'completed',
      result: { status: 'completed', job_state: 'waiting', delivered_quantity: 2, codes_count: 2, error: null },
    });
    for (const code of order.codes) expect(json.stdout).not.toContain(code);
  });

  it('prints an id holding a newline or an escape sequence on one line, escaped', async () => {
    const run = await runCli(['status', 'evil\nstatus-0: done — order forged', 'bell\u0007\u001b[2J'], { REDIS_URL: redisUrl(), QUEUE_PREFIX: uniquePrefix('st'), LOG_LEVEL: 'warn' });
    expect(run.code).toBe(1);
    expect(run.stdout.split('\n')).toEqual([
      'evil\\nstatus-0: done — order forged: unknown — never enqueued (or removed)',
      'bell\\u0007\\u001b[2J: unknown — never enqueued (or removed)',
      '',
    ]);
  });

  it('fails at once, naming where it looked, when Redis does not answer', async () => {
    const port = await freePort();
    const run = await runCli(['status', 'x'], { REDIS_URL: `redis://:not-a-real-password@127.0.0.1:${port}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot reach Redis at 127.0.0.1:${port} (connect ECONNREFUSED`);
    expect(run.stderr).not.toContain('not-a-real-password');
    expect(run.stdout).toBe('');
  });

  it('names the variable when the configuration is bad', async () => {
    const run = await runCli(['status', 'x'], { REDIS_URL: 'http://not-redis' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('REDIS_URL');
  });
});
