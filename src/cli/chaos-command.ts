import { InvalidArgumentError, type Command } from 'commander';
import { runChaos, type ChaosStream } from '../chaos/chaos-run.js';
import type { ChaosSummary } from '../chaos/chaos-summary.js';

/** What the command talks to; tests replace it, the bin uses the process. */
export interface ChaosCommandIo {
  out: ChaosStream;
  err: ChaosStream;
  /** Receives the exit code (0 = no problem found). */
  setExitCode(code: number): void;
  /** Receives the summary (tests read it). */
  onSummary?: (summary: ChaosSummary) => void;
  /**
   * Called when the run starts: returns a signal that aborts it (SIGINT/SIGTERM for the bin) and a
   * dispose to call when it ended.
   */
  interrupts?: () => { signal: AbortSignal; dispose(): void };
}

/** Exit code of an interrupted run (128 + SIGINT), as shells expect. */
const INTERRUPTED_EXIT_CODE = 130;

interface ChaosCliOptions {
  orders: number;
  workers: number;
  seed?: number;
  killEveryMs: number;
  maxKills?: number;
  enqueuePerSecond: number;
  resolveTimeoutMs: number;
  timeoutMs: number;
  logFile?: string;
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
  // A closed pipe (`chaos | head`) must not crash the run before it stopped its child processes.
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

function processIo(): ChaosCommandIo {
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
 * `voodoo-fulfillment chaos`: run orders through a fleet under every fault at once and prove nothing
 * was lost or charged twice. Exits 0 when no problem was found, 1 otherwise (problems listed).
 */
export function registerChaosCommand(program: Command, io: ChaosCommandIo = processIo()): void {
  program
    .command('chaos')
    .description(
      'run a fleet (private redis-server with AOF, faulty sandbox, webhook receiver, workers) through API faults, 429 bursts, ' +
        'worker SIGKILLs and a Redis restart; check every result, charge and log line against the sandbox ' +
        '(exit 1 listing the problems if any); needs redis-server on PATH',
    )
    .option('--orders <n>', 'intents to enqueue, a few invalid ones and duplicates included', integer(1, 100_000), 2_000)
    .option('--workers <n>', 'worker processes', integer(1, 64), 3)
    .option('--seed <n>', 'seed of the intents, outcomes, faults and victims, for repeatable runs (random by default)', integer(0, 2 ** 31 - 1))
    .option('--kill-every-ms <ms>', 'SIGKILL a worker this often (a new one starts at once)', integer(200, 3_600_000), 2_000)
    .option('--max-kills <n>', 'kill at most this many workers (default: until every result is in)', integer(0, 1_000_000))
    .option('--enqueue-per-second <n>', 'how fast intents are enqueued', integer(1, 100_000), 100)
    .option('--resolve-timeout-ms <ms>', "workers' POLL_TIMEOUT_MS: how long an ambiguous create waits for its webhook", integer(1_000, 3_600_000), 20_000)
    .option('--timeout-ms <ms>', 'give up waiting for results after this long', integer(1_000, 3_600_000), 600_000)
    .option('--log-file <path>', 'write every log line of every process to this file (to look into a problem)')
    .action(async (opts: ChaosCliOptions) => {
      const interrupts = io.interrupts?.();
      try {
        const summary = await runChaos({
          orders: opts.orders,
          workers: opts.workers,
          ...(opts.seed === undefined ? {} : { seed: opts.seed }),
          killEveryMs: opts.killEveryMs,
          ...(opts.maxKills === undefined ? {} : { maxKills: opts.maxKills }),
          enqueuePerSecond: opts.enqueuePerSecond,
          resolveTimeoutMs: opts.resolveTimeoutMs,
          timeoutMs: opts.timeoutMs,
          ...(opts.logFile === undefined ? {} : { logFile: opts.logFile }),
          out: io.out,
          err: io.err,
          ...(interrupts === undefined ? {} : { signal: interrupts.signal }),
        });
        io.onSummary?.(summary);
        io.setExitCode(summary.ok ? 0 : 1);
      } catch (err) {
        if (interrupts?.signal.aborted !== true) throw err;
        io.err.write('chaos interrupted: stopped everything it started\n');
        io.setExitCode(INTERRUPTED_EXIT_CODE);
      } finally {
        interrupts?.dispose();
      }
    });
}
