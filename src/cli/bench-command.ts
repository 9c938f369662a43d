import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { parseBenchModes, type BenchMode } from '../bench/bench-modes.js';
import { runBench, type BenchRun } from '../bench/bench-run.js';
import { startNoopWorker } from '../bench/noop-worker.js';
import { FulfillmentError } from '../errors/errors.js';
import { runUntilSignal } from './process-runner.js';

/** What the command talks to; tests replace it, the bin uses the process. */
export interface BenchCommandIo {
  /** Receives the markdown report. */
  out: NodeJS.WritableStream;
  /** Receives progress lines and failures. */
  err: NodeJS.WritableStream;
  /** Receives the exit code (0 = every mode's results were correct). */
  setExitCode(code: number): void;
  /** Receives the whole run (tests read it). */
  onRun?: (run: BenchRun) => void;
  /** The built CLI the bench starts its processes from; default dist/cli.js of this package. */
  cliPath?: string;
  /** Called when the bench starts: a signal that aborts it (SIGINT/SIGTERM for the bin) and a dispose. */
  interrupts?: () => { signal: AbortSignal; dispose(): void };
}

/** Exit code of an interrupted run (128 + SIGINT), as shells expect. */
const INTERRUPTED_EXIT_CODE = 130;

interface BenchCliOptions {
  orders: number;
  modes: BenchMode[];
  concurrency: number;
  workers: number;
  batchSize: number;
  timeoutMs: number;
  seed: number;
  outDir: string;
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

function modeList(value: string): BenchMode[] {
  try {
    return parseBenchModes(value);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof Error ? err.message : String(err));
  }
}

function processInterrupts(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (): void => {
    // A second signal means "now": the children share our process group and got it too.
    if (controller.signal.aborted) process.exit(INTERRUPTED_EXIT_CODE);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

function processIo(): BenchCommandIo {
  return {
    out: process.stdout,
    err: process.stderr,
    setExitCode: (code) => {
      process.exitCode = code;
    },
    interrupts: processInterrupts,
  };
}

/**
 * `voodoo-fulfillment bench`: measure the whole pipeline per mode against the BullMQ ceiling and
 * write bench/results/latest.{json,md}. Also registers the hidden `bench-noop-worker` the ceiling
 * measurement starts as child processes.
 */
export function registerBenchCommand(program: Command, io: BenchCommandIo = processIo()): void {
  program
    .command('bench')
    .description(
      'benchmark the pipeline on a private redis-server (needs redis-server on PATH and a build): throughput, API calls and Redis ' +
        'commands per order, settle → result latency, peak RSS, correctness, per mode, against raw BullMQ no-op jobs; ' +
        'writes <out-dir>/latest.json and latest.md and prints the markdown (exit 1 if any result is wrong)',
    )
    .option('--orders <n>', 'orders per mode (and no-op jobs per ceiling phase)', integer(1, 1_000_000), 5_000)
    .option('--modes <list>', 'comma-separated: webhook, polling, realistic', modeList, parseBenchModes('webhook,polling,realistic'))
    .option('--concurrency <n>', 'WORKER_CONCURRENCY of each worker process', integer(1, 1_000), 64)
    .option('--workers <n>', 'worker processes', integer(1, 32), 2)
    .option('--batch-size <n>', 'intents per addBulk', integer(1, 100_000), 1_000)
    .option('--timeout-ms <ms>', 'longest one mode may take to produce every result', integer(1_000, 3_600_000), 300_000)
    .option('--seed <n>', "seed of the sandbox's outcomes", integer(0, 2 ** 31 - 1), 1)
    .option('--out-dir <dir>', 'where latest.json and latest.md are written', 'bench/results')
    .action(async (opts: BenchCliOptions) => {
      const interrupts = io.interrupts?.();
      try {
        const run = await runBench({
          orders: opts.orders,
          modes: opts.modes,
          concurrency: opts.concurrency,
          workers: opts.workers,
          batchSize: opts.batchSize,
          timeoutMs: opts.timeoutMs,
          seed: opts.seed,
          outDir: resolve(opts.outDir),
          ...(io.cliPath === undefined ? {} : { cliPath: io.cliPath }),
          onProgress: (line) => io.err.write(`${line}\n`),
          ...(interrupts === undefined ? {} : { signal: interrupts.signal }),
        });
        io.out.write(run.markdown);
        io.err.write(`bench: wrote ${run.paths.markdown} and ${run.paths.json}\n`);
        io.onRun?.(run);
        if (!run.report.ok) io.err.write('bench: some results were wrong (see "correctness" in the report)\n');
        io.setExitCode(run.report.ok ? 0 : 1);
      } catch (err) {
        if (interrupts?.signal.aborted === true) {
          io.err.write('bench interrupted: stopped everything it started\n');
          io.setExitCode(INTERRUPTED_EXIT_CODE);
          return;
        }
        if (!(err instanceof FulfillmentError)) throw err;
        io.err.write(`bench failed: ${err.message}\n`);
        io.setExitCode(1);
      } finally {
        interrupts?.dispose();
      }
    });

  program
    .command('bench-noop-worker', { hidden: true })
    .description('a BullMQ worker whose jobs do nothing (started by the bench; config from the environment)')
    .action(() =>
      runUntilSignal('bench-noop-worker', (config, logger) =>
        startNoopWorker({ redisUrl: config.REDIS_URL, prefix: config.QUEUE_PREFIX, concurrency: config.WORKER_CONCURRENCY, logger }),
      ),
    );
}
