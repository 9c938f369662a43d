import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connect.js';
import { FulfillmentError } from '../errors/errors.js';
import { parseIntent, type OrderIntent } from '../lifecycle/intent.js';
import { intentJobId } from './job-ids.js';
import { partitionOf } from '../redis/partitions.js';
import type { FleetQueues } from './partition-queues.js';

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
 * Where intents go:
 * - one BullMQ Queue named `order-intents` with your prefix (QUEUE_PARTITIONS = 1);
 * - with QUEUE_PARTITIONS = K > 1, the K `order-intents` queues in partition order, one per prefix of
 *   `partitionPrefixes(QUEUE_PREFIX, K)`: each intent goes to `queues[partitionOf(merchant_order_id, K)]`;
 * - or a fleet's partitioned queues (openFleetQueues, inside this package), routed the same way.
 */
export type IntentTarget = Queue | readonly Queue[] | FleetQueues;

/** The `order-intents` queue an intent for `merchantOrderId` goes to in `target`. */
export function intentsQueueFor(target: IntentTarget, merchantOrderId: string): Queue {
  if (isQueueList(target)) {
    const queue = target[partitionOf(merchantOrderId, target.length)];
    if (queue === undefined) throw new RangeError('enqueue: the list of partition queues is empty');
    return queue;
  }
  return 'forOrder' in target ? target.forOrder(merchantOrderId).intents : target;
}

function isQueueList(target: IntentTarget): target is readonly Queue[] {
  return Array.isArray(target);
}

/** The intents grouped by the queue each goes to, in their order. */
function byQueue(target: IntentTarget, intents: readonly OrderIntent[]): Map<Queue, OrderIntent[]> {
  const groups = new Map<Queue, OrderIntent[]>();
  for (const intent of intents) {
    const queue = intentsQueueFor(target, intent.merchant_order_id);
    const group = groups.get(queue);
    if (group === undefined) groups.set(queue, [intent]);
    else group.push(intent);
  }
  return groups;
}

/**
 * Add one order intent to `order-intents` (see {@link IntentTarget}). The jobId is derived from merchant_order_id, so enqueueing the same intent twice is a
 * no-op while its job exists; the worker guarantees one result per id even without it.
 * Throws {@link InvalidIntentError} for an intent the worker would refuse.
 */
export async function enqueueOrder(target: IntentTarget, intent: OrderIntent): Promise<string> {
  const valid = check(intent);
  const job = await intentsQueueFor(target, valid.merchant_order_id).add('order', valid, jobOptions(valid, {}));
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
 * one round trip per partition over `redis` (a connection to the queues' Redis). An id enqueued by someone else
 * in between is reported as added: the only way the report can be wrong, and nothing is added twice.
 */
export async function enqueueNewOrders(target: IntentTarget, redis: RedisClient, intents: readonly OrderIntent[], options: EnqueueOptions = {}): Promise<EnqueueReport> {
  const valid = intents.map(check);
  // One pipeline per partition: on a Redis Cluster a pipeline must stay on one node.
  const existing = new Set<string>();
  await Promise.all(
    [...byQueue(target, valid)].map(async ([queue, group]) => {
      const pipeline = redis.pipeline();
      for (const intent of group) pipeline.exists(queue.toKey(intentJobId(intent.merchant_order_id)));
      const answers = (await pipeline.exec()) ?? [];
      group.forEach((intent, i) => {
        const [err, exists] = answers[i] ?? [new Error('no answer'), null];
        if (err !== null) throw err;
        if (exists === 1) existing.add(intent.merchant_order_id);
      });
    }),
  );
  const report: EnqueueReport = { added: [], alreadyEnqueued: [] };
  const seen = new Set<string>();
  for (const intent of valid) {
    const mid = intent.merchant_order_id;
    (existing.has(mid) || seen.has(mid) ? report.alreadyEnqueued : report.added).push(mid);
    seen.add(mid);
  }
  await addAll(target, valid, options);
  return report;
}

async function addAll(target: IntentTarget, intents: readonly OrderIntent[], options: EnqueueOptions): Promise<void> {
  await Promise.all([...byQueue(target, intents)].map(([queue, group]) => queue.addBulk(group.map((intent) => ({ name: 'order', data: intent, opts: jobOptions(intent, options) })))));
}

/**
 * Add many intents, one round trip per partition. Validates all of them first: nothing is added if
 * one is invalid.
 */
export async function enqueueOrders(target: IntentTarget, intents: readonly OrderIntent[], options: EnqueueOptions = {}): Promise<number> {
  const valid = intents.map(check);
  await addAll(target, valid, options);
  return valid.length;
}
