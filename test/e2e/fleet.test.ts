import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { checkResults } from '../../tools/checks/result-check.js';
import { startFleet, type Fleet } from '../../tools/fleet/fleet.js';
import { enqueueOrders } from '../../src/queue/enqueue-order.js';
import { keyIntents } from '../support/pipeline.js';
import { connectRedis, redisUrl } from '../support/redis.js';

let fleet: Fleet | undefined;
afterEach(async () => {
  await fleet?.close();
  fleet = undefined;
});

const quick = { fulfilment: { minMs: 20, maxMs: 80 } };
const env = { POLL_INITIAL_DELAY_MS: '100', POLL_MAX_DELAY_MS: '500', RESOLVE_TIMEOUT_MS: '5000', HTTP_TIMEOUT_MS: '2000' };

/** A process's environment as the OS sees it (Linux). */
function environOf(pid: number): Map<string, string> {
  const raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  return new Map(
    raw
      .split('\0')
      .filter((entry) => entry.includes('='))
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
}

describe('a fleet on an existing Redis', () => {
  it('replaces a SIGKILLed worker with a fresh one that does the work, keeps only recent log lines, and deletes its keys on close', async () => {
    fleet = await startFleet({ redis: { url: redisUrl(), mode: 'url' }, label: 'fleet-e2e', workers: 1, webhook: false, sandbox: quick, env, keepLines: 5 });
    expect(fleet.redisServer).toBeNull();
    const [first] = fleet.workers();
    if (first === undefined) throw new Error('no worker');
    // Killed while idle: a job it held would only come back after BullMQ's 30 s lock expired.
    const second = await fleet.restart(first, 'SIGKILL');
    expect(first.running).toBe(false);
    expect(await first.exited).toBe('SIGKILL');
    expect(second.name).toBe('worker-2');
    expect(fleet.workers()).toEqual([second]);

    const intents = keyIntents('restart', 20, 2);
    await enqueueOrders(fleet.intents, intents);

    const results = await fleet.waitForResults(intents.length, { timeoutMs: 30_000 });
    expect(results.size).toBe(intents.length);
    expect(checkResults({ expected: intents.map((i) => i.merchant_order_id), results, sandboxOrders: fleet.sandbox.orders() }).problems).toEqual([]);
    expect(fleet.crashed()).toEqual([]);
    expect(second.lineCount).toBeGreaterThan(5);
    expect(second.lines()).toHaveLength(5);

    const prefix = fleet.prefix;
    await fleet.close();
    fleet = undefined;
    const redis = connectRedis();
    try {
      const [, keys] = await redis.scan('0', 'MATCH', `${prefix}:*`, 'COUNT', 10_000);
      expect(keys).toEqual([]);
    } finally {
      await redis.quit();
    }
  });

  it('fails the wait naming a worker that died on its own', async () => {
    fleet = await startFleet({ redis: { url: redisUrl(), mode: 'url' }, label: 'fleet-e2e', workers: 1, webhook: false, sandbox: quick, env });
    const [worker] = fleet.workers();
    worker?.child.kill('SIGKILL');
    await worker?.exited;
    await expect(fleet.waitForResults(1, { timeoutMs: 10_000 })).rejects.toThrow(/worker-1 exited unexpectedly/);
    expect(fleet.crashed()).toEqual([worker]);
  });

  it('stops waiting for results as soon as its signal aborts, mid-pause', async () => {
    fleet = await startFleet({ redis: { url: redisUrl(), mode: 'url' }, label: 'fleet-e2e', workers: 1, webhook: false, sandbox: quick, env });
    const startedAt = Date.now();
    // Nothing is enqueued, so only the abort can end the wait; the long interval puts it mid-pause.
    const waiting = fleet.waitForResults(1, { timeoutMs: 30_000, intervalMs: 10_000, signal: AbortSignal.timeout(300) });
    await expect(waiting).rejects.toThrow('interrupted while waiting for results');
    expect(Date.now() - startedAt).toBeLessThan(5_000);
  });

  it.runIf(existsSync('/proc/self/environ'))('gives the API key to workers only, the webhook secret to the receiver only, and nothing of its own environment', async () => {
    process.env.FLEET_E2E_PARENT_SECRET = 'must-not-leak';
    try {
      fleet = await startFleet({ redis: { url: redisUrl(), mode: 'url' }, label: 'fleet-e2e', workers: 1, sandbox: quick, env });
    } finally {
      delete process.env.FLEET_E2E_PARENT_SECRET;
    }
    const worker = environOf(fleet.workers()[0]?.pid ?? 0);
    const receiver = environOf(fleet.webhook()?.pid ?? 0);
    expect(worker.get('VOODOO_API_KEY')).toMatch(/^ak_/);
    expect(worker.has('VOODOO_WEBHOOK_SECRET')).toBe(false);
    expect(receiver.get('VOODOO_WEBHOOK_SECRET')?.length).toBeGreaterThanOrEqual(8);
    expect(receiver.has('VOODOO_API_KEY')).toBe(false);
    for (const environ of [worker, receiver]) {
      expect(environ.has('FLEET_E2E_PARENT_SECRET')).toBe(false);
      expect(environ.get('QUEUE_PREFIX')).toBe(fleet.prefix);
    }
  });
});
