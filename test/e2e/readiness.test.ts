import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../../tools/fleet/private-redis.js';
import { opsUrlOf, startPipeline, type FleetProcess, type Pipeline } from '../support/pipeline.js';
import { httpGet, scrape, total } from '../support/prometheus-text.js';

/** The promise: readiness turns false within this long of Redis going away, in ms. */
const NOT_READY_WITHIN_MS = 5_000;
/** How long a process may take to be ready again once Redis is back, in ms (a test bound, not a promise). */
const READY_AGAIN_WITHIN_MS = 20_000;

interface Probe {
  name: string;
  base: string;
}

/**
 * Poll every probe's /readyz until each answered `status`, failing after `withinMs`; every /healthz
 * answered meanwhile must be 200 (alive whatever Redis does). Returns the last /readyz bodies.
 */
async function untilReadyz(probes: readonly Probe[], status: number, withinMs: number): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + withinMs;
  const pending = new Map(probes.map((p) => [p.name, p]));
  const bodies: Record<string, unknown>[] = [];
  while (pending.size > 0) {
    if (Date.now() > deadline) throw new Error(`${[...pending.keys()].join(', ')}: /readyz did not answer ${status} within ${withinMs} ms`);
    for (const probe of [...pending.values()]) {
      const [ready, health] = await Promise.all([httpGet(`${probe.base}/readyz`), httpGet(`${probe.base}/healthz`)]);
      expect(health, `${probe.name} /healthz`).toEqual({ status: 200, body: '{"ok":true}' });
      if (ready.status === status) {
        bodies.push(JSON.parse(ready.body) as Record<string, unknown>);
        pending.delete(probe.name);
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return bodies;
}

describe('when Redis goes away and comes back', () => {
  let redis: PrivateRedis | undefined;
  let pipeline: Pipeline | undefined;
  let probes: Probe[] = [];
  let processes: FleetProcess[] = [];

  beforeAll(async () => {
    redis = await startPrivateRedis();
    pipeline = await startPipeline({ redisUrl: redis.url });
    const receiver = await pipeline.startWebhook();
    const worker = await pipeline.startWorker();
    processes = [receiver, worker];
    probes = [
      { name: 'worker', base: await opsUrlOf(worker) },
      { name: 'webhook receiver', base: new URL(pipeline.webhookUrl).origin },
    ];
  }, 60_000);

  afterAll(async () => {
    await pipeline?.close();
    await redis?.destroy();
  });

  it('the worker and the receiver are ready once started', async () => {
    expect(await untilReadyz(probes, 200, READY_AGAIN_WITHIN_MS)).toEqual([{ ready: true }, { ready: true }]);
  });

  it('turns them unready within 5 s of a Redis that stops answering, naming Redis, and ready again once it answers', async () => {
    redis?.freeze();
    try {
      const bodies = await untilReadyz(probes, 503, NOT_READY_WITHIN_MS);
      for (const body of bodies) expect(body).toEqual({ ready: false, reasons: ['redis: no answer to PING (REDIS_URL)'] });
      // What VoodooRedisChecksFailing reads: a Redis that does not answer fails the checks too.
      for (const probe of probes) expect(total(await scrape(`${probe.base}/metrics`), 'voodoo_redis_checks_ok'), probe.name).toBe(0);
    } finally {
      redis?.thaw();
    }
    await untilReadyz(probes, 200, READY_AGAIN_WITHIN_MS);
  }, 60_000);

  it('turns the receiver unready while Redis refuses writes (its memory is full), and ready again once it takes them', async () => {
    const admin = new Redis(redis?.url ?? '', { lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
    try {
      // maxmemory 1 byte with noeviction: every write is refused (OOM), reads and PING still answer.
      await admin.config('SET', 'maxmemory', '1');
      const receiver = probes.filter((p) => p.name === 'webhook receiver');
      // The receiver learns it from its heartbeat's next write (every ~3.3 s).
      const [body] = await untilReadyz(receiver, 503, NOT_READY_WITHIN_MS);
      expect(body).toEqual({ ready: false, reasons: ['redis: the event store takes no writes (the heartbeat write failed)'] });
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      await admin.quit();
    }
    await untilReadyz(probes, 200, READY_AGAIN_WITHIN_MS);
  }, 60_000);

  it('turns them unready within 5 s of Redis shutting down, and ready again once it restarted on the same port', async () => {
    await redis?.stop();
    const bodies = await untilReadyz(probes, 503, NOT_READY_WITHIN_MS);
    for (const body of bodies) expect(body.reasons).toContain('redis: no answer to PING (REDIS_URL)');
    await redis?.restart();
    await untilReadyz(probes, 200, READY_AGAIN_WITHIN_MS);
    // Nobody exited: readiness is for a supervisor to route around, not a reason to die.
    expect(processes.every((p) => p.child.exitCode === null && p.child.signalCode === null)).toBe(true);
  }, 60_000);
});
