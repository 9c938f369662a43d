import { Job, type Queue } from 'bullmq';
import type { OrderLedger } from '../ledger/order-ledger.js';
import type { Intent } from '../lifecycle/order-state.js';
import type { OrderIntent } from '../lifecycle/intent.js';
import type { Logger } from '../logging/logger.js';
import { enqueueOrder } from './enqueue-order.js';
import { intentJobId } from './job-ids.js';

/** How often each worker looks for due reminders, in ms. */
export const DEFAULT_REMINDER_POLL_MS = 1_000;
/**
 * How long a taken reminder is held before it comes round again, in ms: long enough for the job it
 * re-ran to look the order up and hand it off again (which sets a new time), short enough that a
 * reminder whose worker died is not lost for long.
 */
export const DEFAULT_REMINDER_LEASE_MS = 60_000;
/** Reminders taken per partition per round: a burst of due ones is worked off over a few rounds. */
const REMINDERS_PER_ROUND = 200;

/** Options of {@link startReminderPoller}. */
export interface ReminderPollerOptions {
  ledger: OrderLedger;
  /** The `order-intents` queue of each partition this process consumes, by partition index. */
  intents: readonly { partition: number; queue: Queue }[];
  logger: Logger;
  /** Between two rounds, in ms. Default {@link DEFAULT_REMINDER_POLL_MS}. */
  intervalMs?: number;
  /** How long a taken reminder is held, in ms. Default {@link DEFAULT_REMINDER_LEASE_MS}. */
  leaseMs?: number;
  /** Clock, epoch ms. */
  now?: () => number;
}

/** A running poller: `close()` stops it and waits for the round in progress. */
export interface ReminderPoller {
  close(): Promise<void>;
}

/** The public intent of a recorded one, to add its job again. */
function jobDataOf(intent: Intent): OrderIntent {
  return {
    merchant_order_id: intent.merchantOrderId,
    item_id: intent.itemId ?? 0,
    ...(intent.quantity === undefined ? {} : { quantity: intent.quantity }),
    ...(intent.fields === undefined ? {} : { fields: intent.fields }),
    ...(intent.maxPrice === undefined ? {} : { max_price: intent.maxPrice }),
  };
}

/**
 * The safety net of handed-off orders (the machine's `hand_off`): an intent job that handed its
 * placed order to the webhook completed, and the ledger keeps a reminder for it. When one is due —
 * no result was emitted by then, the webhook is late or lost — this runs the order's job again
 * (it looks the order up and settles or hands off again). Each worker polls the partitions it
 * consumes; taking a reminder leases it, so one worker acts on it per lease. A reminder that cannot
 * run its job is logged at warn and comes round again.
 *
 * Why hand-written: BullMQ's delayed jobs are what this replaces — a parked job costs a move to
 * delayed and a removal by the receiver for every order, while a reminder costs one sorted-set
 * write in the state write that hands off and one in the write that emits.
 */
export function startReminderPoller(options: ReminderPollerOptions): ReminderPoller {
  const { ledger, logger } = options;
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? DEFAULT_REMINDER_POLL_MS;
  const leaseMs = options.leaseMs ?? DEFAULT_REMINDER_LEASE_MS;
  let closed = false;
  let running: Promise<void> | null = null;

  /**
   * Run job `jobId` again if it finished; false when there is no such job. A waiting, active or
   * parked job runs anyway.
   */
  const runAgain = async (queue: Queue, jobId: string): Promise<boolean> => {
    const job = await Job.fromId(queue, jobId);
    if (job === undefined) return false;
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') await job.retry(state);
    return state !== 'unknown';
  };

  const rerun = async (queue: Queue, mid: string): Promise<void> => {
    const record = await ledger.load(mid);
    // The write that records the emitted result clears `remindAtMs` (the machine's `emitted`).
    if (record === null || record.state.remindAtMs === null) {
      // Nothing to run: the reminder outlived its order.
      await ledger.dropReminder(mid);
      return;
    }
    if (await runAgain(queue, record.owner)) return;
    // The completed job is gone (its retention, or the producer's removeOnComplete). Run the order
    // under the safe id enqueueOrder uses — the owner's own id may be one BullMQ cannot take back
    // (a generated, all-digit id) — moving the record to it first, unless someone else did.
    const safeId = intentJobId(mid);
    if (record.owner !== safeId && !(await ledger.reassignOwner(mid, record.owner, safeId))) return;
    if (!(await runAgain(queue, safeId))) await enqueueOrder(queue, jobDataOf(record.state.intent));
  };

  const round = async (): Promise<void> => {
    for (const { partition, queue } of options.intents) {
      if (closed) return;
      try {
        const due = await ledger.takeDueReminders(partition, now(), leaseMs, REMINDERS_PER_ROUND);
        for (const mid of due) {
          if (closed) return;
          // Loud: an order whose webhook did not come and whose job cannot be run gets no result.
          await rerun(queue, mid).catch((err: unknown) => logger.warn({ err, merchant_order_id: mid }, 'a due reminder could not run its job; it comes round again'));
        }
        if (due.length > 0) logger.debug({ partition, count: due.length }, 'ran the jobs of due reminders');
      } catch (err) {
        logger.debug({ err, partition }, 'reading due reminders failed; trying again next round');
      }
    }
  };

  const timer = setInterval(() => {
    // One round at a time: a slow Redis skips ticks rather than piling rounds up.
    if (running !== null) return;
    running = round().finally(() => {
      running = null;
    });
  }, intervalMs);
  timer.unref();

  return {
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}
