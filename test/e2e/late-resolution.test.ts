import type { Job } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import type { OrderResult } from '../../src/lifecycle/order-state.js';
import { resolutionJobId, resultJobId } from '../../src/queue/job-ids.js';
import { keyIntents, sandboxOrdersOf, startPipeline, type Pipeline } from '../support/pipeline.js';
import { runCli } from '../support/run-cli.js';

/**
 * Late truth (issue 9, item 7), with the real processes: orders whose outcome could not be learned
 * before RESOLVE_TIMEOUT_MS end `unresolved`; a webhook that lands later, or an operator's
 * `voodoo-fulfillment resolve`, adds exactly one resolution each to order-results.
 */

let pipeline: Pipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

/** The first create of every order lands but answers 502; the retry meets it as a duplicate: the order id stays unknown. */
const LANDED_UNSEEN = { create: { badGatewayAfterCommit: 1 } };
const ENV = { RESOLVE_TIMEOUT_MS: '2000' };

/** Every job in order-results (of every partition). */
async function resultJobs(p: Pipeline): Promise<Job<OrderResult>[]> {
  const states = ['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'] as const;
  return (await Promise.all(p.queues.partitions.map(({ results }) => results.getJobs([...states])))).flat() as Job<OrderResult>[];
}

async function waitForJobs(p: Pipeline, count: number, timeoutMs = 30_000): Promise<Job<OrderResult>[]> {
  const start = Date.now();
  for (;;) {
    const jobs = await resultJobs(p);
    if (jobs.length >= count) return jobs;
    if (Date.now() - start > timeoutMs) throw new Error(`only ${jobs.length} of ${count} result jobs after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('when the webhooks are delayed past the deadline', () => {
  it('ends those orders unresolved, then emits exactly one resolution each when the webhooks land', async () => {
    // Each webhook is held back 8 s: the orders end unresolved about 2 s after their first attempt.
    pipeline = await startPipeline({ sandbox: { faults: { ...LANDED_UNSEEN, webhook: { delay: 1, delayMs: 8_000 } } }, env: ENV });
    await pipeline.startWebhook();
    await pipeline.startWorker();
    const intents = keyIntents('late', 3, 2);
    const mids = intents.map((i) => i.merchant_order_id);
    await pipeline.enqueue(intents);

    const first = await waitForJobs(pipeline, 3);
    expect(first.map((j) => j.data.status)).toEqual(['unresolved', 'unresolved', 'unresolved']);
    expect(first.map((j) => j.id).sort()).toEqual(mids.map(resultJobId).sort());

    const all = await waitForJobs(pipeline, 6);
    for (const mid of mids) {
      const [order, ...more] = sandboxOrdersOf(pipeline.sandbox, mid);
      expect(more).toEqual([]);
      const resolution = all.find((j) => j.id === resolutionJobId(mid))?.data;
      expect(resolution, mid).toMatchObject({ merchant_order_id: mid, resolves: 'unresolved', source: 'webhook', status: order?.status, order_id: order?.id });
      expect(all.find((j) => j.id === resultJobId(mid))?.data, mid).toMatchObject({ status: 'unresolved', resolves: null });
    }
    // The API redelivers nothing new and nothing else arrives: still one result and one resolution each.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await resultJobs(pipeline)).toHaveLength(6);
    const emitted = pipeline.logLines().filter((l) => l.includes('"event":"resolution_emitted"'));
    expect(emitted).toHaveLength(3);
    for (const line of emitted) expect(line).toContain('"by":"webhook receiver"');
  });
});

describe('voodoo-fulfillment resolve (webhooks dropped)', () => {
  it('closes an unresolved order by hand, refuses a wrong order id and a result that was not unresolved, and answers a second request as a no-op', async () => {
    pipeline = await startPipeline({
      sandbox: { fulfilment: { minMs: 20, maxMs: 80, outcomes: { completed: 1, partial: 0, failed: 0 } }, faults: { ...LANDED_UNSEEN, webhook: { drop: 1 } } },
      env: ENV,
    });
    await pipeline.startWebhook();
    await pipeline.startWorker();
    await pipeline.enqueue(keyIntents('res', 2, 2));
    await waitForJobs(pipeline, 2);
    // A clean order afterwards: completed by its poll.
    pipeline.sandbox.setFaults({ webhook: { drop: 1 } });
    await pipeline.enqueue([{ merchant_order_id: 'fine-0', item_id: 4090, quantity: 1 }]);
    const jobs = await waitForJobs(pipeline, 3);
    expect(jobs.map((j) => `${j.data.merchant_order_id}:${j.data.status}`).sort()).toEqual(['fine-0:completed', 'res-0:unresolved', 'res-1:unresolved']);

    const { sandbox } = pipeline;
    const idOf = (mid: string): string => sandboxOrdersOf(sandbox, mid)[0]?.id ?? '';
    const env = { REDIS_URL: pipeline.redisUrl, QUEUE_PREFIX: pipeline.prefix, QUEUE_PARTITIONS: String(pipeline.partitions), LOG_LEVEL: 'warn' };
    const resolve = (mid: string, orderId: string, ...more: string[]) => runCli(['resolve', mid, '--order-id', orderId, '--timeout', '30', ...more], env);

    const wrong = await resolve('res-0', idOf('res-1'));
    expect(wrong.stderr).toBe('');
    expect(wrong.code).toBe(2);
    expect(wrong.stdout).toBe('"res-0": refused: that order carries another merchant_order_id (wrong order id?)\n');

    const right = await resolve('res-0', idOf('res-0'));
    expect(right).toMatchObject({ code: 0, stderr: '' });
    expect(right.stdout).toBe(`"res-0": resolved: completed (order "${idOf('res-0')}"), resolution emitted to order-results\n`);

    const again = await resolve('res-0', idOf('res-0'), '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ merchant_order_id: 'res-0', outcome: 'already_resolved', status: 'completed', order_id: idOf('res-0'), source: 'poll' });

    const notUnresolved = await resolve('fine-0', idOf('fine-0'));
    expect(notUnresolved.code).toBe(2);
    expect(notUnresolved.stdout).toContain('refused: its result was not unresolved');

    const unknown = await resolve('never-0', idOf('fine-0'));
    expect(unknown.code).toBe(3);
    expect(unknown.stdout).toContain('unknown: no intent was ever enqueued');

    const after = await resultJobs(pipeline);
    expect(after.map((j) => j.id).sort()).toEqual([resultJobId('fine-0'), resultJobId('res-0'), resolutionJobId('res-0'), resultJobId('res-1')].sort());
    const resolution = after.find((j) => j.id === resolutionJobId('res-0'))?.data;
    const [order] = sandboxOrdersOf(pipeline.sandbox, 'res-0');
    expect(resolution).toMatchObject({ status: 'completed', resolves: 'unresolved', source: 'poll', order_id: order?.id, codes: order?.codes });
    for (const code of order?.codes ?? []) expect(right.stdout + again.stdout).not.toContain(code);

    const status = await runCli(['status', 'res-0'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('result unresolved');
    expect(status.stdout).toContain('resolved later as completed');
    for (const code of order?.codes ?? []) expect(status.stdout).not.toContain(code);
  });
});

describe('voodoo-fulfillment resolve without a worker', () => {
  it('gives up waiting after --timeout with exit code 4, leaving the request queued for the fleet', async () => {
    pipeline = await startPipeline({ webhook: false });
    const env = { REDIS_URL: pipeline.redisUrl, QUEUE_PREFIX: pipeline.prefix, QUEUE_PARTITIONS: String(pipeline.partitions), LOG_LEVEL: 'warn' };
    const run = await runCli(['resolve', 'nobody-0', '--order-id', 'some-order', '--timeout', '1'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(4);
    expect(run.stdout).toBe('"nobody-0": no answer within 1 s; the request goes on in the fleet (is a worker running? is the order still in progress?)\n');
    expect(await pipeline.queues.forOrder('nobody-0').intents.getJobState('resolve-nobody-0')).toBe('waiting');
  });
});
