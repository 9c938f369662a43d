import type { Queue } from 'bullmq';
import { FulfillmentError } from '../errors/errors.js';
import { parseIntent, type OrderIntent } from '../lifecycle/intent.js';
import { intentJobId } from './job-ids.js';

/** Raised by {@link enqueueOrder} for an intent the worker would refuse. */
export class InvalidIntentError extends FulfillmentError {
  constructor(message: string) {
    super('invalid_intent', false, message);
  }
}

/** Options of {@link enqueueOrder}. */
export interface EnqueueOptions {
  /**
   * How long the intent job is kept once finished, in seconds. Default: unset, so the worker's
   * RETENTION_SECONDS applies (BullMQ lets job options beat the worker's).
   */
  retentionSeconds?: number;
}

/** BullMQ priority of a fresh intent (parked jobs drop to 0, served first). */
export const FRESH_INTENT_PRIORITY = 1;

function check(intent: unknown): OrderIntent {
  const parsed = parseIntent(intent);
  if (parsed.kind === 'garbage') throw new InvalidIntentError(parsed.reason);
  if (parsed.kind === 'invalid') throw new InvalidIntentError(parsed.message);
  return intent as OrderIntent;
}

function jobOptions(intent: OrderIntent, options: EnqueueOptions) {
  return {
    jobId: intentJobId(intent.merchant_order_id),
    // Fresh intents wait in BullMQ's prioritized set; a job that parked itself (for a poll, a retry,
    // funds) comes back at priority 0, which BullMQ serves first, so a due poll never queues behind
    // a backlog of new intents.
    priority: FRESH_INTENT_PRIORITY,
    ...(options.retentionSeconds === undefined ? {} : { removeOnComplete: { age: options.retentionSeconds } }),
    // Failed intents (garbage) are kept for inspection.
    removeOnFail: false,
  };
}

/**
 * Add one order intent to `order-intents` (pass a BullMQ Queue named `order-intents` with your
 * prefix). The jobId is derived from merchant_order_id, so enqueueing the same intent twice is a
 * no-op while its job exists; the worker guarantees one result per id even without it.
 * Throws {@link InvalidIntentError} for an intent the worker would refuse.
 */
export async function enqueueOrder(queue: Queue, intent: OrderIntent): Promise<string> {
  const valid = check(intent);
  const job = await queue.add('order', valid, jobOptions(valid, {}));
  return job.id ?? intentJobId(valid.merchant_order_id);
}

/** Add many intents in one round trip. Validates all of them first: nothing is added if one is invalid. */
export async function enqueueOrders(queue: Queue, intents: readonly OrderIntent[], options: EnqueueOptions = {}): Promise<number> {
  const valid = intents.map(check);
  await queue.addBulk(valid.map((intent) => ({ name: 'order', data: intent, opts: jobOptions(intent, options) })));
  return valid.length;
}
