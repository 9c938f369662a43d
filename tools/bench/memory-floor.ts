import { setTimeout as sleep } from 'node:timers/promises';
import { Worker, type JobType } from 'bullmq';
import type { Redis } from 'ioredis';
import { singleRedisOf, startFleet, type Fleet } from '../fleet/fleet.js';
import { FleetError } from '../fleet/fleet-error.js';
import { enqueueOrders } from '../../src/queue/enqueue-order.js';
import { CLEANUP_INTERVAL_MS } from '../../src/queue/finished-job-cleanup.js';
import { INTENTS_QUEUE, RESULTS_QUEUE } from '../../src/queue/queue-names.js';
import { bullmqKey, projectKeys } from '../../src/redis/keys.js';
import { benchIntents } from './bench-intents.js';
import { benchModeSetup, benchSandboxOptions } from './bench-modes.js';
import { readRedisMemory, readUsedMemory, type RedisMemory } from './redis-memory.js';
import { formatSeconds } from '../figures/run-figures.js';

/** Options of {@link runMemoryFloor}. */
export interface MemoryFloorOptions {
  /** Orders of the measured run. */
  orders: number;
  /** Worker processes. */
  workers: number;
  /** WORKER_CONCURRENCY of each. */
  concurrency: number;
  /** Intents per addBulk. */
  batchSize: number;
  /** RETENTION_SECONDS of the fleet: longer than the run, so every order is still retained when measured. */
  retentionSeconds: number;
  /** TOMBSTONE_TTL_SECONDS of the fleet (≥ retentionSeconds). */
  tombstoneTtlSeconds: number;
  /** UNMATCHED_EVENT_TTL_SECONDS of the fleet (≤ retentionSeconds). */
  unmatchedEventTtlSeconds: number;
  /** Longest the run may take to produce and consume every result, in ms. */
  timeoutMs: number;
  /** The built CLI; default dist/cli.js of this package. */
  cliPath?: string;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
}

/** Redis as one moment of the run sees it. */
export interface MemoryPoint {
  /** `used_memory`, bytes. */
  usedBytes: number;
  /** Keys in the database. */
  keys: number;
  /** Of those, keys with a TTL. */
  expiring: number;
  /** This project's keys (`<prefix>:vf:*`). */
  projectKeys: number;
  /** `MEMORY USAGE` of BullMQ's two `events` streams (capped by BullMQ at ~10,000 entries each), bytes. */
  eventStreamsBytes: number;
  /** `MEMORY STATS` overhead.total: Redis's own (hash tables, clients, scripts…), bytes. */
  overheadBytes: number;
}

/** What {@link runMemoryFloor} measured. */
export interface MemoryFloorReport {
  orders: number;
  settings: { retentionSeconds: number; tombstoneTtlSeconds: number; unmatchedEventTtlSeconds: number; workers: number; concurrency: number };
  /** The fleet started, consumer attached, nothing enqueued. */
  floor: MemoryPoint;
  /** Every result emitted and consumed, every intent finished: everything retained. */
  retained: MemoryPoint;
  /** (retained − floor) ÷ orders, bytes. */
  retainedPerOrder: number;
  /** One order's keys (`MEMORY USAGE`) while retained. */
  sample: RedisMemory;
  /** TTLs of that order's record and tombstone when sampled, in seconds. */
  sampleTtls: { record: number; tombstone: number };
  /** The run's length, first enqueue to the last result consumed, in ms. */
  runMs: number;
  /**
   * How long the run waited idle after its last result, in ms: past TOMBSTONE_TTL_SECONDS and past
   * RETENTION_SECONDS plus one round of the workers' cleanup of finished jobs, whichever is later.
   */
  idleWaitMs: number;
  /** After that wait, with no traffic at all since the last result. */
  idle: MemoryPoint;
  /** BullMQ jobs still kept at that point (completed intents, completed results, failed intents). */
  finishedJobsLeftIdle: { completedIntents: number; completedResults: number; failedIntents: number };
  /** The ten largest keys at the end (`MEMORY USAGE`, bytes), to attribute what is above the floor. */
  largestKeysIdle: { key: string; bytes: number }[];
}

async function largestKeys(redis: Redis, count: number): Promise<{ key: string; bytes: number }[]> {
  const sizes: { key: string; bytes: number }[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'COUNT', 1_000);
    cursor = next;
    for (const key of found) {
      const bytes = (await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) as number | null;
      sizes.push({ key, bytes: bytes ?? 0 });
    }
  } while (cursor !== '0');
  return sizes.sort((a, b) => b.bytes - a.bytes).slice(0, count);
}

const RESULT_STATES: JobType[] = ['waiting', 'active', 'delayed', 'prioritized'];
const UNFINISHED_INTENT_STATES: JobType[] = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'];
const POLL_MS = 500;
const PROGRESS_GAP_MS = 10_000;

async function point(redis: Redis, prefix: string): Promise<MemoryPoint> {
  const usedBytes = await readUsedMemory(redis);
  const keyspace = await redis.info('keyspace');
  const match = /^db0:keys=(\d+),expires=(\d+)/m.exec(keyspace);
  let projectKeyCount = 0;
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:vf:*`, 'COUNT', 10_000);
    cursor = next;
    projectKeyCount += found.length;
  } while (cursor !== '0');
  let eventStreamsBytes = 0;
  for (const queue of [INTENTS_QUEUE, RESULTS_QUEUE]) {
    const bytes = (await redis.call('MEMORY', 'USAGE', bullmqKey(prefix, queue, 'events'), 'SAMPLES', '0')) as number | null;
    eventStreamsBytes += bytes ?? 0;
  }
  const stats = (await redis.call('MEMORY', 'STATS')) as unknown[];
  const at = stats.indexOf('overhead.total');
  const overheadBytes = at >= 0 ? Number(stats[at + 1]) : 0;
  return { usedBytes, keys: Number(match?.[1] ?? 0), expiring: Number(match?.[2] ?? 0), projectKeys: projectKeyCount, eventStreamsBytes, overheadBytes };
}

/** Wait until every result is consumed (none left to take) and `count` are completed, and no intent is unfinished. */
async function waitForConsumed(fleet: Fleet, count: number, options: MemoryFloorOptions, label: string): Promise<void> {
  const start = Date.now();
  let lastProgressAt = start;
  for (;;) {
    if (options.signal?.aborted) throw new FleetError('the run was interrupted');
    const [completed, pending, unfinished] = await Promise.all([
      fleet.results.getCompletedCount(),
      fleet.results.getJobCountByTypes(...RESULT_STATES),
      fleet.intents.getJobCountByTypes(...UNFINISHED_INTENT_STATES),
    ]);
    if (completed >= count && pending === 0 && unfinished === 0) return;
    const dead = fleet.crashed();
    if (dead.length > 0) throw new FleetError(`${dead.map((p) => p.name).join(', ')} exited unexpectedly`);
    const now = Date.now();
    if (now - start > options.timeoutMs) throw new FleetError(`${label}: only ${completed} of ${count} results consumed after ${options.timeoutMs} ms`);
    if (now - lastProgressAt >= PROGRESS_GAP_MS) {
      lastProgressAt = now;
      options.onProgress?.(`  ${label}: ${completed}/${count} results consumed after ${formatSeconds(now - start)}`);
    }
    await sleep(POLL_MS, undefined, options.signal ? { signal: options.signal } : {});
  }
}

/**
 * Run `orders` orders (webhook mode) on a private Redis with short retention, a consumer taking
 * every result, and measure Redis: its floor, what the orders retain, and what is left once
 * TOMBSTONE_TTL_SECONDS and RETENTION_SECONDS have passed with no traffic at all (the workers'
 * periodic cleanup removes the aged finished jobs).
 */
export async function runMemoryFloor(options: MemoryFloorOptions): Promise<MemoryFloorReport> {
  const setup = benchModeSetup('webhook', options.concurrency);
  const fleet = await startFleet({
    redis: { mode: 'private' },
    label: 'memory-floor',
    // Its key accounting reads the one-partition layout.
    partitions: 1,
    workers: options.workers,
    webhook: true,
    sandbox: benchSandboxOptions(setup, 1),
    env: {
      ...setup.env,
      RETENTION_SECONDS: String(options.retentionSeconds),
      TOMBSTONE_TTL_SECONDS: String(options.tombstoneTtlSeconds),
      UNMATCHED_EVENT_TTL_SECONDS: String(options.unmatchedEventTtlSeconds),
    },
    ...(options.cliPath === undefined ? {} : { cliPath: options.cliPath }),
  });
  // The shop's side: a consumer that takes every result (the job's own options keep it RETENTION_SECONDS).
  const consumer = new Worker(RESULTS_QUEUE, () => Promise.resolve(), { connection: { url: fleet.redisUrl }, prefix: fleet.prefix, concurrency: 100 });
  consumer.on('error', () => undefined);
  try {
    await consumer.waitUntilReady();
    const { prefix } = fleet;
    const redis = singleRedisOf(fleet, 'the memory-floor run');
    const floor = await point(redis, prefix);
    const intents = benchIntents(options.orders, 'mf');
    const startedAtMs = Date.now();
    for (let i = 0; i < intents.length; i += options.batchSize) await enqueueOrders(fleet.intents, intents.slice(i, i + options.batchSize));
    await waitForConsumed(fleet, intents.length, options, 'run');
    const runMs = Date.now() - startedAtMs;
    const sampleId = intents[intents.length - 1]?.merchant_order_id ?? '';
    const retained = await point(redis, prefix);
    const sample = await readRedisMemory(redis, prefix, sampleId, floor.usedBytes, intents.length);
    const keys = projectKeys(prefix);
    const sampleTtls = { record: await redis.ttl(keys.order(sampleId)), tombstone: await redis.ttl(keys.tombstone(sampleId)) };
    options.onProgress?.(`  run: ${intents.length} orders in ${formatSeconds(runMs)}; retained ${retained.usedBytes - floor.usedBytes} bytes, ${retained.keys} keys`);

    // Idle past both horizons, counted from the last result: every tombstone and record has expired
    // by then, and a cleanup round of each worker has run after the last finished job aged out.
    const idleWaitMs = Math.max(options.tombstoneTtlSeconds * 1000, options.retentionSeconds * 1000 + CLEANUP_INTERVAL_MS) + 5_000;
    options.onProgress?.(`  waiting ${formatSeconds(idleWaitMs)} idle, past TOMBSTONE_TTL_SECONDS and RETENTION_SECONDS + one cleanup round`);
    await sleep(idleWaitMs, undefined, options.signal ? { signal: options.signal } : {});
    const idle = await point(redis, prefix);
    const finishedJobsLeftIdle = {
      completedIntents: await fleet.intents.getCompletedCount(),
      completedResults: await fleet.results.getCompletedCount(),
      failedIntents: await fleet.intents.getFailedCount(),
    };
    const largestKeysIdle = await largestKeys(redis, 10);
    return {
      orders: intents.length,
      settings: {
        retentionSeconds: options.retentionSeconds,
        tombstoneTtlSeconds: options.tombstoneTtlSeconds,
        unmatchedEventTtlSeconds: options.unmatchedEventTtlSeconds,
        workers: options.workers,
        concurrency: options.concurrency,
      },
      floor,
      retained,
      retainedPerOrder: Math.round((retained.usedBytes - floor.usedBytes) / Math.max(1, intents.length)),
      sample,
      sampleTtls,
      runMs,
      idleWaitMs,
      idle,
      finishedJobsLeftIdle,
      largestKeysIdle,
    };
  } finally {
    await consumer.close();
    await fleet.close();
  }
}
