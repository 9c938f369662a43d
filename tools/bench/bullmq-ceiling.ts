import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { spawnFleetProcess, type FleetProcess } from '../fleet/fleet-process.js';
import { deletePrefixKeys } from '../fleet/fleet-redis.js';
import { toolsCliLaunch } from '../fleet/tools-cli.js';
import { perSecond } from '../figures/run-figures.js';
import { FleetError } from '../fleet/fleet-error.js';
import { NOOP_QUEUE } from './noop-worker.js';

/** What raw BullMQ does on this machine and Redis with jobs that do nothing. */
export interface CeilingReport {
  /** Jobs per phase. */
  jobs: number;
  /** No-op worker processes. */
  workers: number;
  /** Jobs each of them runs at once. */
  concurrency: number;
  /** Adding `jobs` with addBulk while nothing consumes: jobs/s and the time it took (ms). */
  addPerSecond: number;
  addMs: number;
  /** Processing `jobs` already waiting (queue resumed → last job finished): jobs/s and ms. */
  processPerSecond: number;
  processMs: number;
  /** Adding and processing at once (first add → last job finished), like the pipeline runs: jobs/s and ms. */
  endToEndPerSecond: number;
  endToEndMs: number;
}

/** Options of {@link measureBullmqCeiling}. */
export interface CeilingOptions {
  redisUrl: string;
  /** Jobs per phase (the bench uses its order count). */
  jobs: number;
  /** No-op worker processes, as many as the pipeline has workers. */
  workers: number;
  /** Concurrency of each, as the pipeline's WORKER_CONCURRENCY. */
  concurrency: number;
  /** Jobs per addBulk, as the bench enqueues intents. */
  batchSize: number;
  /** Longest a phase may take, in ms. */
  timeoutMs: number;
  signal?: AbortSignal;
}

const STOP_KILL_AFTER_MS = 10_000;
const READY_TIMEOUT_MS = 20_000;
const POLL_MS = 20;
/** Recent output lines kept per no-op worker, for error messages. */
const KEEP_LINES = 50;

/**
 * Measure the queue's own ceiling: no-op BullMQ workers, in `workers` processes of their own like
 * the pipeline's, on the same Redis. Three phases over `jobs` jobs each: add only (queue paused),
 * process only (resume), then both at once. Jobs look like intents (similar data, a jobId, kept
 * on completion) so the comparison is with the pipeline's own queue traffic.
 */
export async function measureBullmqCeiling(options: CeilingOptions): Promise<CeilingReport> {
  const prefix = `bench-ceiling-${randomBytes(4).toString('hex')}`;
  // `bench-noop-worker` is a command of the tools' CLI, run from source like the bench itself.
  const { cliPath, nodeArgs } = toolsCliLaunch();
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  const queue = new Queue(NOOP_QUEUE, { connection: redis, prefix });
  queue.on('error', () => undefined);
  const children: FleetProcess[] = [];
  try {
    const env = {
      PATH: process.env.PATH ?? '',
      REDIS_URL: options.redisUrl,
      QUEUE_PREFIX: prefix,
      WORKER_CONCURRENCY: String(options.concurrency),
      LOG_LEVEL: 'info',
    };
    const started = await Promise.allSettled(
      Array.from({ length: options.workers }, (_, i) =>
        spawnFleetProcess({
          name: `noop-worker-${i + 1}`,
          role: 'worker',
          cliPath,
          nodeArgs,
          command: 'bench-noop-worker',
          env,
          readyTimeoutMs: READY_TIMEOUT_MS,
          keepLines: KEEP_LINES,
        }),
      ),
    );
    for (const s of started) if (s.status === 'fulfilled') children.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;

    const completedKey = queue.toKey('completed');
    const addJobs = async (label: string): Promise<void> => {
      for (let start = 0; start < options.jobs; start += options.batchSize) {
        if (options.signal?.aborted) throw new FleetError('interrupted while adding no-op jobs');
        const end = Math.min(options.jobs, start + options.batchSize);
        await queue.addBulk(
          Array.from({ length: end - start }, (_, k) => {
            const i = start + k;
            return {
              name: 'order',
              data: { merchant_order_id: `noop-${label}-${i}`, item_id: 4090, quantity: 1 + (i % 3) },
              opts: { jobId: `noop-${label}-${i}`, removeOnComplete: { age: 7 * 24 * 60 * 60 }, removeOnFail: false },
            };
          }),
        );
      }
    };
    /** Wait until `count` jobs completed; returns when the last of them finished (epoch ms). */
    const lastFinishedAt = async (count: number): Promise<number> => {
      const deadline = AbortSignal.timeout(options.timeoutMs);
      for (;;) {
        if (options.signal?.aborted) throw new FleetError('interrupted while waiting for no-op jobs');
        if ((await redis.zcard(completedKey)) >= count) break;
        const dead = children.filter((c) => !c.running);
        if (dead.length > 0) throw new FleetError(`${dead.map((c) => c.name).join(', ')} exited; last lines:\n${dead.flatMap((c) => c.lines().slice(-20)).join('\n')}`);
        if (deadline.aborted) throw new FleetError(`no-op jobs: fewer than ${count} completed after ${options.timeoutMs} ms`);
        await sleep(POLL_MS);
      }
      // The completed set is scored by finishedOn.
      const [, score] = await redis.zrange(completedKey, -1, -1, 'WITHSCORES');
      return Number(score);
    };

    await queue.pause();
    const addStart = Date.now();
    await addJobs('paused');
    const addMs = Date.now() - addStart;

    const resumeAt = Date.now();
    await queue.resume();
    const processMs = (await lastFinishedAt(options.jobs)) - resumeAt;

    const e2eStart = Date.now();
    await addJobs('e2e');
    const endToEndMs = (await lastFinishedAt(2 * options.jobs)) - e2eStart;

    return {
      jobs: options.jobs,
      workers: options.workers,
      concurrency: options.concurrency,
      addPerSecond: perSecond(options.jobs, addMs, 0),
      addMs,
      processPerSecond: perSecond(options.jobs, processMs, 0),
      processMs,
      endToEndPerSecond: perSecond(options.jobs, endToEndMs, 0),
      endToEndMs,
    };
  } finally {
    await Promise.all(children.map((c) => c.stop('SIGTERM', STOP_KILL_AFTER_MS)));
    await queue.close().catch(() => undefined);
    if (redis.status === 'ready') await deletePrefixKeys(redis, prefix).catch(() => undefined);
    await redis.quit().catch(() => undefined);
    redis.disconnect();
  }
}
