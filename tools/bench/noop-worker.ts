import { Worker } from 'bullmq';
import type { Logger } from '../../src/logging/logger.js';
import { connectRedis } from '../../src/redis/connect.js';

/** Queue the ceiling measurement adds its no-op jobs to (under its own prefix). */
export const NOOP_QUEUE = 'bench-noop';

/** Options of {@link startNoopWorker}. */
export interface NoopWorkerOptions {
  redisUrl: string;
  /** BullMQ key prefix of the ceiling run. */
  prefix: string;
  /** Jobs processed at once. */
  concurrency: number;
  logger: Logger;
}

/**
 * A BullMQ worker whose jobs do nothing: what the queue alone costs on this machine. Started as a
 * process of its own (`bench-noop-worker`) so it runs like a pipeline worker, one event loop each.
 * Logs `noop worker started` once it consumes.
 */
export async function startNoopWorker(options: NoopWorkerOptions): Promise<{ close(): Promise<void> }> {
  const connection = connectRedis(options.redisUrl, options.logger, 'vf-bench-noop');
  const worker = new Worker(NOOP_QUEUE, () => Promise.resolve(), {
    connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
  });
  worker.on('error', (err) => options.logger.warn({ err }, 'noop worker error'));
  await worker.waitUntilReady();
  options.logger.info({ concurrency: options.concurrency, prefix: options.prefix }, 'noop worker started');
  return {
    async close() {
      await worker.close();
      await connection.quit();
    },
  };
}
