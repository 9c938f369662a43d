import type { Queue } from 'bullmq';
import type { OrderResult } from '../lifecycle/order-state.js';
import { resolutionJobId, resultJobId } from './job-ids.js';

/** Emits results to `order-results`. */
export interface ResultEmitter {
  /**
   * Add the result job. Idempotent: the jobId is derived from merchant_order_id and the job is kept
   * for `retentionSeconds` after a consumer completes it, so a re-emit after a crash is a no-op. A
   * resolution (`resolves` set) has a jobId of its own, so it follows the result instead of being
   * swallowed by it.
   */
  emit(result: OrderResult): Promise<void>;
}

/** Options of {@link createResultEmitter}. */
export interface ResultEmitterOptions {
  queue: Queue;
  /** How long a consumed result job is kept (and so deduplicates re-emits), in seconds. */
  retentionSeconds: number;
}

export function createResultEmitter(options: ResultEmitterOptions): ResultEmitter {
  const retained = { age: options.retentionSeconds };
  return {
    async emit(result) {
      await options.queue.add(result.status, result, {
        jobId: result.resolves === null ? resultJobId(result.merchant_order_id) : resolutionJobId(result.merchant_order_id),
        // Job options beat the consumer's worker options, so the dedupe window holds whatever the consumer sets.
        removeOnComplete: retained,
        removeOnFail: retained,
      });
    },
  };
}
