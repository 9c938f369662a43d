import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
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

/** What {@link enqueueNewOrders} did with each merchant_order_id. */
export interface EnqueueReport {
  /** merchant_order_ids whose intent job this call created. */
  added: string[];
  /**
   * merchant_order_ids whose intent job existed already (waiting, running, or finished and still
   * kept), or that came twice in this call: adding them again changed nothing.
   */
  alreadyEnqueued: string[];
}

/**
 * {@link enqueueOrders}, telling which ids were new. BullMQ answers an add with an existing job id
 * exactly as a new one (it only writes a `duplicated` event), so the jobs are looked up first, in
 * one round trip over `redis` (a connection to the queue's Redis). An id enqueued by someone else
 * in between is reported as added: the only way the report can be wrong, and nothing is added twice.
 */
export async function enqueueNewOrders(queue: Queue, redis: Redis, intents: readonly OrderIntent[], options: EnqueueOptions = {}): Promise<EnqueueReport> {
  const valid = intents.map(check);
  const pipeline = redis.pipeline();
  for (const intent of valid) pipeline.exists(queue.toKey(intentJobId(intent.merchant_order_id)));
  const answers = (await pipeline.exec()) ?? [];
  const report: EnqueueReport = { added: [], alreadyEnqueued: [] };
  const seen = new Set<string>();
  valid.forEach((intent, i) => {
    const [err, exists] = answers[i] ?? [new Error('no answer'), null];
    if (err !== null) throw err;
    const mid = intent.merchant_order_id;
    (exists === 1 || seen.has(mid) ? report.alreadyEnqueued : report.added).push(mid);
    seen.add(mid);
  });
  await queue.addBulk(valid.map((intent) => ({ name: 'order', data: intent, opts: jobOptions(intent, options) })));
  return report;
}

/** Add many intents in one round trip. Validates all of them first: nothing is added if one is invalid. */
export async function enqueueOrders(queue: Queue, intents: readonly OrderIntent[], options: EnqueueOptions = {}): Promise<number> {
  const valid = intents.map(check);
  await queue.addBulk(valid.map((intent) => ({ name: 'order', data: intent, opts: jobOptions(intent, options) })));
  return valid.length;
}
