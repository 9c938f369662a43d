import type { Job, Queue } from 'bullmq';
import type { ResolveRequest } from '../handlers/resolution-job-handler.js';
import { RESOLVE_JOB_NAME, resolveRequestJobId } from './job-ids.js';

/** What {@link requestResolution} did. */
export type ResolveRequestOutcome =
  /** The request job is in the queue (added now, or the same request was already waiting or running). */
  | { kind: 'requested'; job: Job<ResolveRequest>; fresh: boolean }
  /** A request for this merchant_order_id with another order id is still in progress: nothing added. */
  | { kind: 'busy'; orderId: string };

/**
 * Ask the fleet to resolve `merchantOrderId`'s `unresolved` result with the order `orderId` (a job
 * named `resolve` in `order-intents`, the queue every worker reads). The job id is derived from the
 * merchant_order_id: while a request runs, repeating it joins it instead of adding another. A
 * finished request is replaced, so a repeated command asks again (the machine answers a second
 * resolution as a no-op) and a corrected order id gets its turn.
 */
export async function requestResolution(queue: Queue, merchantOrderId: string, orderId: string): Promise<ResolveRequestOutcome> {
  const jobId = resolveRequestJobId(merchantOrderId);
  const existing = (await queue.getJob(jobId)) as Job<ResolveRequest> | undefined;
  if (existing !== undefined) {
    const state = await existing.getState();
    if (state === 'completed' || state === 'failed') {
      await existing.remove();
    } else if (state !== 'unknown') {
      if (existing.data.order_id !== orderId) return { kind: 'busy', orderId: existing.data.order_id };
      return { kind: 'requested', job: existing, fresh: false };
    }
  }
  const data: ResolveRequest = { merchant_order_id: merchantOrderId, order_id: orderId };
  // No priority: BullMQ serves plain waiting jobs before the prioritized intents, so an operator's
  // request does not queue behind a backlog.
  const job = (await queue.add(RESOLVE_JOB_NAME, data, { jobId })) as Job<ResolveRequest>;
  return { kind: 'requested', job, fresh: true };
}
