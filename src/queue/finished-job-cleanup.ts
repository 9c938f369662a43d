import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connect.js';
import { LOG_EVENT } from '../logging/log-events.js';
import type { Logger } from '../logging/logger.js';
import { throttledWarning } from '../logging/repeat-throttle.js';

/**
 * Pause between cleanup rounds, in ms. BullMQ removes aged completed jobs only when another job of
 * the same queue completes, so an idle fleet would keep its last RETENTION_SECONDS of jobs forever;
 * a round a minute lets them outlive the retention by at most a minute, and an idle round costs
 * one ZRANGE and one HGETALL per queue.
 */
export const CLEANUP_INTERVAL_MS = 60_000;

/**
 * Jobs removed per BullMQ `clean` call (one Lua script). Redis runs nothing else while a script
 * runs; 1,000 removals (a few reads and one DEL each) take milliseconds, and 1,000 is BullMQ's own
 * limit per completion for `removeOnComplete: { age }`.
 */
export const CLEANUP_BATCH = 1_000;

/**
 * Most `clean` calls per queue in one round: bounds a round's work (100,000 jobs per queue) after a
 * burst; what is left waits for the next round.
 */
export const CLEANUP_MAX_BATCHES_PER_ROUND = 100;

/** One kind of cleanup failure is written at most once per this many ms; the rest are counted. */
const CLEANUP_WARNING_WINDOW_MS = 10 * 60_000;

/**
 * Longest close() waits for a round in progress, in ms: a round caught by a Redis outage waits
 * for the reconnect, and shutdown must not. Its removals are idempotent, so leaving it is harmless.
 */
const CLOSE_WAIT_MS = 5_000;

/** Options of {@link startFinishedJobCleanup}. */
export interface FinishedJobCleanupOptions {
  /**
   * Queues whose completed jobs are removed once older than the retention: order-intents and
   * order-results. Only the `completed` state is touched: a waiting result (not yet taken by its
   * consumer) and a failed job are never removed here.
   */
  queues: readonly Queue[];
  /** The connection those queues use; a round is skipped while it is not ready (its own error log reports the outage). */
  connection: Pick<RedisClient, 'status'>;
  /** A completed job is removed once it finished more than this many seconds ago (RETENTION_SECONDS). */
  retentionSeconds: number;
  logger: Logger;
  /** Pause between rounds, in ms. Default {@link CLEANUP_INTERVAL_MS}. */
  intervalMs?: number;
  /** Jobs removed per `clean` call. Default {@link CLEANUP_BATCH}. */
  batchSize?: number;
  /** Most `clean` calls per queue per round. Default {@link CLEANUP_MAX_BATCHES_PER_ROUND}. */
  maxBatchesPerRound?: number;
}

/** A running cleanup of aged completed jobs; see {@link startFinishedJobCleanup}. */
export interface FinishedJobCleanup {
  /**
   * Run one round now (after any round in progress) and resolve with the number of jobs removed;
   * rejects if Redis fails it. For tests and tools; the timer's rounds log their failures instead.
   */
  runOnce(): Promise<number>;
  /** Stop the rounds and wait (at most 5 s) for one in progress. */
  close(): Promise<void>;
}

/** True when the oldest completed job of `queue` finished at or before `cutoffMs` (epoch ms), or cannot be read. */
async function hasAgedJob(queue: Queue, cutoffMs: number): Promise<boolean> {
  const [oldestId] = await queue.getRanges(['completed'], 0, 0, true);
  if (oldestId === undefined) return false;
  const oldest = await queue.getJob(oldestId);
  // An id left in the set without its job is cleaned too (clean goes by the set's scores alone),
  // so it cannot hide the aged jobs behind it.
  return oldest?.finishedOn === undefined || oldest.finishedOn <= cutoffMs;
}

/** Remove up to `batchSize × maxBatches` completed jobs of `queue` that finished more than `graceMs` ago. */
async function cleanQueue(queue: Queue, graceMs: number, batchSize: number, maxBatches: number): Promise<number> {
  // Each clean call writes a `cleaned` entry to the queue's event stream, which only adding a job
  // trims; looking first keeps idle rounds from growing it.
  if (!(await hasAgedJob(queue, Date.now() - graceMs))) return 0;
  let removed = 0;
  for (let batch = 0; batch < maxBatches; batch += 1) {
    // With a limit at most 10,000, BullMQ's clean is one Lua call: ZRANGEBYSCORE on the
    // `completed` set (scored by finishedOn) LIMIT batchSize, then one removal per job.
    const ids = await queue.clean(graceMs, batchSize, 'completed');
    removed += ids.length;
    if (ids.length < batchSize) break;
  }
  return removed;
}

/**
 * Every `intervalMs`, remove the completed jobs of `queues` that finished more than
 * `retentionSeconds` ago, in bounded batches, whether or not any traffic flows (BullMQ's own
 * `removeOnComplete: { age }` acts only when a job completes). Every worker runs it; that is
 * harmless: each `clean` call is one atomic Lua script, so two workers at once remove each job
 * once between them, and a job already removed is simply not found. The timer is unref'd.
 */
export function startFinishedJobCleanup(options: FinishedJobCleanupOptions): FinishedJobCleanup {
  const intervalMs = options.intervalMs ?? CLEANUP_INTERVAL_MS;
  const batchSize = options.batchSize ?? CLEANUP_BATCH;
  const maxBatches = options.maxBatchesPerRound ?? CLEANUP_MAX_BATCHES_PER_ROUND;
  const graceMs = options.retentionSeconds * 1000;
  const warn = throttledWarning(options.logger, 'removing aged finished jobs failed; retrying next round', { windowMs: CLEANUP_WARNING_WINDOW_MS });
  let closed = false;
  // Rounds run one after the other, never overlapping.
  let running: Promise<number> = Promise.resolve(0);
  let busy = false;

  const round = async (): Promise<number> => {
    let removed = 0;
    for (const queue of options.queues) removed += await cleanQueue(queue, graceMs, batchSize, maxBatches);
    if (removed > 0) options.logger.debug({ removed }, 'removed aged finished jobs');
    return removed;
  };
  const runOnce = (): Promise<number> => {
    const next = running
      .catch(() => 0)
      .then(async () => {
        busy = true;
        try {
          return await round();
        } finally {
          busy = false;
        }
      });
    running = next;
    return next;
  };

  const timer = setInterval(() => {
    // Skipped while Redis is away (no queueing behind the reconnect, no line per round: the
    // connection's own error log reports the outage) and while the previous round still runs.
    if (closed || busy || options.connection.status !== 'ready') return;
    runOnce().catch((err: unknown) => warn({ event: LOG_EVENT.jobCleanupFailed, err }));
  }, intervalMs);
  timer.unref();

  return {
    runOnce,
    async close() {
      closed = true;
      clearInterval(timer);
      const waited = new AbortController();
      await Promise.race([running.catch(() => 0), sleep(CLOSE_WAIT_MS, 0, { signal: waited.signal, ref: false }).catch(() => 0)]);
      waited.abort();
    },
  };
}
