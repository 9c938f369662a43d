import { InvalidArgumentError, type Command } from 'commander';
import { runDemo, type DemoStream } from '../dev/demo.js';
import type { DemoSummary } from '../dev/demo-summary.js';

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
  interrupts?: () => { signal: AbortSignal; dispose(): void };
}

/** Exit code of an interrupted run (128 + SIGINT), as shells expect. */
const INTERRUPTED_EXIT_CODE = 130;

interface DemoCliOptions {
  orders: number;
  workers: number;
  seed?: number;
  timeoutMs: number;
}

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number in ${min}..${max}`);
    }
    return n;
  };
}

function processInterrupts(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (): void => {
    // A second signal means "now": the children share our process group and got it too.
    if (controller.signal.aborted) process.exit(INTERRUPTED_EXIT_CODE);
    controller.abort();
  };
  // A closed pipe (`demo | head`) must not crash the demo before it stopped its child processes.
  const onOutputError = (): void => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.on('error', onOutputError);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.stdout.off('error', onOutputError);
    },
  };
}

function processIo(): DemoCommandIo {
  return {
    out: process.stdout,
    err: process.stderr,
    redisUrl: process.env.REDIS_URL,
    setExitCode: (code) => {
      process.exitCode = code;
    },
    interrupts: processInterrupts,
  };
}

/**
 * `voodoo-fulfillment demo`: run the whole pipeline against a faulty local sandbox and print a
 * summary. Exits 0 when every merchant_order_id got exactly one result matching the sandbox.
 */
export function registerDemoCommand(program: Command, io: DemoCommandIo = processIo()): void {
  program
    .command('demo')
    .description(
      'run Redis (REDIS_URL if it answers, else a private redis-server), a faulty local sandbox, a webhook receiver and workers; ' +
        'enqueue sample orders and print a summary (exit 1 if any result is missing or disagrees with the sandbox)',
    )
    .option('--orders <n>', 'intents to enqueue, a few invalid ones and duplicates included', integer(1, 100_000), 300)
    .option('--workers <n>', 'worker processes', integer(1, 64), 2)
    .option('--seed <n>', 'seed of the intents, outcomes and faults, for repeatable runs (random by default)', integer(0, 2 ** 31 - 1))
    .option('--timeout-ms <ms>', 'give up waiting for results after this long', integer(1_000, 3_600_000), 120_000)
    .action(async (opts: DemoCliOptions) => {
      const interrupts = io.interrupts?.();
      try {
        const summary = await runDemo({
          orders: opts.orders,
          workers: opts.workers,
          ...(opts.seed === undefined ? {} : { seed: opts.seed }),
          timeoutMs: opts.timeoutMs,
          redis: io.redisUrl === undefined ? {} : { url: io.redisUrl },
          out: io.out,
          err: io.err,
          ...(interrupts === undefined ? {} : { signal: interrupts.signal }),
        });
        io.onSummary?.(summary);
        io.setExitCode(summary.ok ? 0 : 1);
      } catch (err) {
        if (interrupts?.signal.aborted !== true) throw err;
        io.err.write('demo interrupted: stopped everything it started\n');
        io.setExitCode(INTERRUPTED_EXIT_CODE);
      } finally {
        interrupts?.dispose();
      }
    });
}
