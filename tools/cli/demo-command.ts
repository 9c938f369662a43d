import type { Command } from 'commander';
import { runDemo, type DemoStream } from '../demo/demo.js';
import type { DemoSummary } from '../demo/demo-summary.js';
import { wholeNumber } from '../../src/cli/option-parsers.js';
import { processDevCommandIo, runDevCommand, type RunInterrupts } from './command-runner.js';

/** What the command talks to; tests replace it, the bin uses the process. */
export interface DemoCommandIo {
  out: DemoStream;
  err: DemoStream;
  /** REDIS_URL to try before starting a private redis-server. */
  redisUrl: string | undefined;
  /** Receives the exit code (0 = every result matched the sandbox). */
  setExitCode(code: number): void;
  /** Receives the summary (tests read it). */
  onSummary?: (summary: DemoSummary) => void;
  /**
   * Called when the demo starts: returns a signal that aborts the run (SIGINT/SIGTERM for the bin)
   * and a dispose to call when it ended.
   */
  interrupts?: () => RunInterrupts;
}

interface DemoCliOptions {
  orders: number;
  workers: number;
  seed?: number;
  timeoutMs: number;
}

function processIo(): DemoCommandIo {
  return { ...processDevCommandIo(true), redisUrl: process.env.REDIS_URL };
}

/**
 * `npm run demo`: run the whole pipeline against a faulty local sandbox and print a
 * summary. Exits 0 when every merchant_order_id got exactly one result matching the sandbox.
 */
export function registerDemoCommand(program: Command, io: DemoCommandIo = processIo()): void {
  program
    .command('demo')
    .description(
      'run Redis (REDIS_URL if it answers, else a private redis-server), a faulty local sandbox, a webhook receiver and workers; ' +
        'enqueue sample orders and print a summary (exit 1 if any result is missing or disagrees with the sandbox)',
    )
    .option('--orders <n>', 'intents to enqueue, a few invalid ones and duplicates included', wholeNumber(1, 100_000), 300)
    .option('--workers <n>', 'worker processes', wholeNumber(1, 64), 2)
    .option('--seed <n>', 'seed of the intents, outcomes and faults, for repeatable runs (random by default)', wholeNumber(0, 2 ** 31 - 1))
    .option('--timeout-ms <ms>', 'give up waiting for results after this long', wholeNumber(1_000, 3_600_000), 120_000)
    .action((opts: DemoCliOptions) =>
      runDevCommand(io, { name: 'demo' }, async (signal) => {
        const summary = await runDemo({
          orders: opts.orders,
          workers: opts.workers,
          ...(opts.seed === undefined ? {} : { seed: opts.seed }),
          timeoutMs: opts.timeoutMs,
          redis: io.redisUrl === undefined ? {} : { url: io.redisUrl },
          out: io.out,
          err: io.err,
          ...(signal === undefined ? {} : { signal }),
        });
        io.onSummary?.(summary);
        return summary.ok;
      }),
    );
}
