import type { Command } from 'commander';
import { runUntilSignal } from '../../src/cli/process-runner.js';
import { startNoopWorker } from '../bench/noop-worker.js';

/**
 * The hidden `bench-noop-worker`: a BullMQ worker whose jobs do nothing, which the bench's ceiling
 * measurement starts as child processes (see tools/bench/bullmq-ceiling.ts).
 */
export function registerBenchNoopWorkerCommand(program: Command): void {
  program
    .command('bench-noop-worker', { hidden: true })
    .description('a BullMQ worker whose jobs do nothing (started by the bench; config from the environment)')
    .action(() =>
      runUntilSignal('bench-noop-worker', (config, logger) =>
        startNoopWorker({ redisUrl: config.REDIS_URL, prefix: config.QUEUE_PREFIX, concurrency: config.WORKER_CONCURRENCY, logger }),
      ),
    );
}
