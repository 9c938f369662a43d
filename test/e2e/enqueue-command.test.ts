import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../tools/fleet/private-redis.js';
import { intentJobId } from '../../src/queue/job-ids.js';
import { partitionPrefixes } from '../../src/queue/consume-results.js';
import { INTENTS_QUEUE } from '../../src/queue/queue-names.js';
import { partitionOf } from '../../src/redis/partitions.js';
import { connectRedis, deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';
import { runCli, type CliRun } from '../support/run-cli.js';

function runEnqueue(prefix: string, args: string[], stdin?: string): Promise<CliRun> {
  return runCli(['enqueue', ...args], { REDIS_URL: redisUrl(), QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' }, stdin);
}

describe('voodoo-fulfillment enqueue', () => {
  const redis = connectRedis();
  const prefix = uniquePrefix('enq');
  const queue = new Queue(INTENTS_QUEUE, { connection: redis, prefix });
  const dir = mkdtempSync(join(tmpdir(), 'enqueue-'));

  beforeAll(async () => {
    await queue.waitUntilReady();
  });
  afterAll(async () => {
    await queue.close();
    await deleteKeys(redis, prefix);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds one intent given as an argument, with the safe jobId and fresh-intent priority', async () => {
    const run = await runEnqueue(prefix, ['{"merchant_order_id":"cli:1","item_id":4090,"quantity":2}']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('enqueued 1 intent(s)');
    const job = await queue.getJob(intentJobId('cli:1'));
    expect(job?.data).toEqual({ merchant_order_id: 'cli:1', item_id: 4090, quantity: 2 });
    expect(job?.opts.priority).toBe(1);
  });

  it('adds JSON lines from a file and from stdin, skipping blank lines', async () => {
    const file = join(dir, 'intents.jsonl');
    writeFileSync(file, '{"merchant_order_id":"cli-f1","item_id":4090}\n\n{"merchant_order_id":"cli-f2","item_id":4091}\n');
    expect((await runEnqueue(prefix, ['--file', file])).stdout).toContain('enqueued 2 intent(s)');
    const fromStdin = await runEnqueue(prefix, ['--file', '-'], '{"merchant_order_id":"cli-s1","item_id":4090}\n');
    expect(fromStdin.code).toBe(0);
    for (const mid of ['cli-f1', 'cli-f2', 'cli-s1']) expect(await queue.getJob(intentJobId(mid))).toBeDefined();
  });

  it('says which ids were enqueued already, and adds nothing twice', async () => {
    const intent = '{"merchant_order_id":"cli-dup\\n1","item_id":4090,"quantity":2}';
    expect((await runEnqueue(prefix, [intent])).stdout).toBe(`enqueued 1 intent(s) to ${prefix}:${INTENTS_QUEUE}\n`);

    const again = await runEnqueue(prefix, [intent]);
    const mixed = await runEnqueue(prefix, ['--file', '-'], `${intent}\n{"merchant_order_id":"cli-dup-2","item_id":4090}\n{"merchant_order_id":"cli-dup-2","item_id":4090}\n`);

    expect(again.code).toBe(0);
    // The id's newline is printed escaped: it cannot start a line of its own.
    expect(again.stdout).toBe(`enqueued 0 intent(s) to ${prefix}:${INTENTS_QUEUE}, already enqueued 1: cli-dup\\n1\n`);
    expect(mixed.stdout).toBe(`enqueued 1 intent(s) to ${prefix}:${INTENTS_QUEUE}, already enqueued 2: cli-dup\\n1, cli-dup-2\n`);
    expect((await queue.getJob(intentJobId('cli-dup\n1')))?.data).toEqual({ merchant_order_id: 'cli-dup\n1', item_id: 4090, quantity: 2 });
  });

  it('refuses a file with one bad line, names the line and the field, and adds nothing', async () => {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, '{"merchant_order_id":"cli-b1","item_id":4090}\n{"merchant_order_id":"cli-b2","item_id":4090,"quantity":-3}\n');
    const run = await runEnqueue(prefix, ['--file', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('line 2: quantity:');
    expect(await queue.getJob(intentJobId('cli-b1'))).toBeUndefined();
  });

  it('says which line is not JSON, and that it needs exactly one source', async () => {
    const notJson = await runEnqueue(prefix, ['--file', '-'], 'merchant_order_id=x\n');
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toContain('line 1: not valid JSON');
    const neither = await runEnqueue(prefix, []);
    expect(neither.code).toBe(1);
    expect(neither.stderr).toContain('give exactly one of an intent argument or --file');
  });

  it('fails at once, adding nothing, when Redis does not answer', async () => {
    const port = await freePort();
    const run = await runCli(['enqueue', '{"merchant_order_id":"cli-down","item_id":4090}'], { REDIS_URL: `redis://127.0.0.1:${port}`, QUEUE_PREFIX: prefix });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot reach Redis at 127.0.0.1:${port}`);
    expect(run.stdout).toBe('');
    expect(await queue.getJob(intentJobId('cli-down'))).toBeUndefined();
  });
});

describe('voodoo-fulfillment enqueue with QUEUE_PARTITIONS=4', () => {
  const redis = connectRedis();
  const prefix = uniquePrefix('enqp');
  const queues = partitionPrefixes(prefix, 4).map((partitionPrefix) => new Queue(INTENTS_QUEUE, { connection: redis, prefix: partitionPrefix }));

  afterAll(async () => {
    await Promise.all(queues.map((queue) => queue.close()));
    for (const partitionPrefix of partitionPrefixes(prefix, 4)) await deleteKeys(redis, partitionPrefix);
    await redis.quit();
  });

  it("adds each intent to its partition's order-intents only, and knows an id enqueued already", async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `cli-p${i}`);
    const lines = ids.map((mid) => JSON.stringify({ merchant_order_id: mid, item_id: 4090 })).join('\n');
    const env = { REDIS_URL: redisUrl(), QUEUE_PREFIX: prefix, QUEUE_PARTITIONS: '4', LOG_LEVEL: 'warn' };
    const run = await runCli(['enqueue', '--file', '-'], env, `${lines}\n`);
    expect(run.stdout).toBe(`enqueued 12 intent(s) to ${INTENTS_QUEUE} of 4 partitions\n`);
    for (const mid of ids) {
      const where = await Promise.all(queues.map(async (queue) => (await queue.getJob(intentJobId(mid))) !== undefined));
      expect({ mid, where }).toEqual({ mid, where: [0, 1, 2, 3].map((p) => p === partitionOf(mid, 4)) });
    }
    const again = await runCli(['enqueue', JSON.stringify({ merchant_order_id: 'cli-p0', item_id: 4090 })], env);
    expect(again.stdout).toBe(`enqueued 0 intent(s) to ${INTENTS_QUEUE} of 4 partitions, already enqueued 1: cli-p0\n`);
  });
});
