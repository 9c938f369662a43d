import { parseIntent } from '../../src/lifecycle/intent.js';
import { enqueueOrders, intentsQueueFor, type IntentTarget } from '../../src/queue/enqueue-order.js';
import type { SampleIntent } from './sample-intents.js';

/** What {@link enqueueSamples} did. */
export interface EnqueueReport {
  /** Jobs added to `order-intents`. */
  jobs: number;
  /** When each merchant_order_id was first enqueued, epoch ms. */
  enqueuedAtMs: Map<string, number>;
  /** When the first add started, epoch ms. */
  firstAtMs: number;
  /** When the last add finished, epoch ms. */
  lastAtMs: number;
}

/** Options of {@link enqueueSamples}. */
export interface EnqueueSamplesOptions {
  /** Intents per `addBulk` round trip. Default 500. */
  batchSize?: number;
}

/**
 * Add sample intents to `order-intents`. Well-formed intents go through the library's
 * `enqueueOrders` (jobId from merchant_order_id); malformed ones and duplicates are added as a
 * careless producer would, with a plain `queue.add` and no jobId, because that is what they are
 * there to show: the library would refuse the first and silently drop the second.
 */
export async function enqueueSamples(queue: IntentTarget, samples: readonly SampleIntent[], options: EnqueueSamplesOptions = {}): Promise<EnqueueReport> {
  const batchSize = Math.max(1, options.batchSize ?? 500);
  const enqueuedAtMs = new Map<string, number>();
  const firstAtMs = Date.now();
  let jobs = 0;
  const stamp = (batch: readonly SampleIntent[]): void => {
    const now = Date.now();
    for (const sample of batch) {
      if (!enqueuedAtMs.has(sample.intent.merchant_order_id)) enqueuedAtMs.set(sample.intent.merchant_order_id, now);
    }
  };

  // Consecutive library-friendly intents are batched; the order of the samples is kept.
  let batch: SampleIntent[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    stamp(batch);
    jobs += await enqueueOrders(queue, batch.map((s) => s.intent));
    batch = [];
  };
  for (const sample of samples) {
    const raw = sample.kind === 'duplicate' || parseIntent(sample.intent).kind !== 'ok';
    if (!raw) {
      batch.push(sample);
      if (batch.length >= batchSize) await flush();
      continue;
    }
    await flush();
    stamp([sample]);
    // Routed like any producer would (a malformed intent without a string id goes to partition 0).
    const mid: unknown = (sample.intent as { merchant_order_id?: unknown } | null)?.merchant_order_id;
    await intentsQueueFor(queue, typeof mid === 'string' ? mid : '').add('order', sample.intent);
    jobs += 1;
  }
  await flush();
  return { jobs, enqueuedAtMs, firstAtMs, lastAtMs: Date.now() };
}
