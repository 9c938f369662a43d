import { Job, type Queue } from 'bullmq';
import type { Logger } from '../logging/logger.js';

/** Default pauses before the retries of a wake whose job was active, in ms (each counted from the previous try). */
export const DEFAULT_WAKE_RETRY_DELAYS_MS: readonly number[] = [50, 200, 1_000];

/** Options of {@link createJobWaker}. */
export interface JobWakerOptions {
  /**
   * Pauses before each retry while the job is still active, in ms, each counted from the previous
   * try. Default 50, 200, 1000.
   */
  retryDelaysMs?: readonly number[];
  /** Where failed wakes are reported (at debug: polling is the safety net). */
  logger?: Logger;
}

/**
 * Wakes an intent job so its worker acts now instead of at its next poll. Callable as
 * `(jobId) => Promise<void>`; resolves after the first try, retries run in the background.
 */
export interface JobWaker {
  (jobId: string): Promise<void>;
  /**
   * Cancel pending retries and wait for a running one. Call it before closing the queue; wakes
   * after close do nothing.
   */
  close(): Promise<void>;
}

type TryOutcome = 'settled' | 'still-active';

/**
 * Something done to a parked intent job from outside its worker, retried while the job is active
 * (its worker is mid-flight and may be about to park it again without having seen why).
 */
type Nudge = (queue: Queue, jobId: string) => Promise<TryOutcome>;

/** Promote a delayed job to waiting, so its worker acts now instead of at its next poll. */
const promote: Nudge = async (queue, jobId) => {
  const job = await Job.fromId(queue, jobId);
  if (job === undefined) return 'settled';
  const state = await job.getState();
  if (state === 'active') return 'still-active';
  if (state !== 'delayed') return 'settled';
  try {
    await job.promote();
    return 'settled';
  } catch (err) {
    // promote() throws when the job left the delayed set meanwhile (its delay ran out, or a
    // worker took it): only an active job is worth another try.
    const now = await job.getState();
    if (now === 'active') return 'still-active';
    if (now === 'delayed') throw err;
    return 'settled';
  }
};

/**
 * Remove a job whose order is finished. The first try removes at once (one round trip): a job that
 * is not active is parked or waiting and has nothing left to do. A retry looks first, so a job that
 * completed by itself meanwhile is left alone.
 */
const removeFinished = (first: boolean): Nudge => async (queue, jobId) => {
  if (!first) {
    const state = await queue.getJobState(jobId);
    if (state === 'active') return 'still-active';
    if (state !== 'delayed' && state !== 'waiting' && state !== 'prioritized') return 'settled';
  }
  // 0: the job is locked (active): its worker will see the finished order, unless it parks it first.
  return (await queue.remove(jobId)) === 1 ? 'settled' : 'still-active';
};

function createNudger(queue: Queue, first: Nudge, retry: Nudge, options: JobWakerOptions): JobWaker {
  const delays = options.retryDelaysMs ?? DEFAULT_WAKE_RETRY_DELAYS_MS;
  // One retry chain per job: a burst of duplicate events must not multiply the Redis calls.
  const pending = new Map<string, NodeJS.Timeout>();
  const running = new Set<Promise<void>>();
  let closed = false;

  const scheduleRetry = (jobId: string, attempt: number): void => {
    const delay = delays[attempt];
    if (closed || delay === undefined || pending.has(jobId)) return;
    const timer = setTimeout(() => {
      pending.delete(jobId);
      const run = retry(queue, jobId)
        .then((outcome) => {
          if (outcome === 'still-active') scheduleRetry(jobId, attempt + 1);
        })
        .catch((err: unknown) => options.logger?.debug({ err, jobId }, 'retry on a parked job failed; the job polls anyway'))
        .finally(() => running.delete(run));
      running.add(run);
    }, delay);
    timer.unref();
    pending.set(jobId, timer);
  };

  const nudge = async (jobId: string): Promise<void> => {
    if (closed) return;
    if ((await first(queue, jobId)) === 'still-active') scheduleRetry(jobId, 0);
  };

  const close = async (): Promise<void> => {
    closed = true;
    for (const timer of pending.values()) clearTimeout(timer);
    pending.clear();
    await Promise.allSettled([...running]);
  };

  return Object.assign(nudge, { close });
}

/**
 * Build a waker for the jobs of `queue`. A delayed job is promoted to waiting. An active job (its
 * worker is mid-flight, e.g. the webhook beat the create response) may be about to move itself to
 * delayed without having seen the event, so the promote is retried a few times, best effort, on
 * unref'd timers. Any other state (waiting, finished, gone) needs nothing.
 */
export function createJobWaker(queue: Queue, options: JobWakerOptions = {}): JobWaker {
  return createNudger(queue, promote, promote, options);
}

/**
 * Build a closer for the intent jobs of `queue`: once an order's result is emitted elsewhere (the
 * webhook receiver), its parked job is removed at once, so no job stays delayed for a finished
 * order and none wakes to emit again. An active job is retried like a wake: its worker may park it
 * before it sees the finished order.
 */
export function createJobCloser(queue: Queue, options: JobWakerOptions = {}): JobWaker {
  return createNudger(queue, removeFinished(true), removeFinished(false), options);
}
