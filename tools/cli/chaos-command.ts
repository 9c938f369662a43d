import type { Command } from 'commander';
import { runChaos, type ChaosStream } from '../chaos/chaos-run.js';
import type { ChaosSummary } from '../chaos/chaos-summary.js';
import { wholeNumber } from '../../src/cli/option-parsers.js';
import { processDevCommandIo, runDevCommand, type RunInterrupts } from './command-runner.js';

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
  interrupts?: () => RunInterrupts;
}

interface ChaosCliOptions {
  orders: number;
  workers: number;
  seed?: number;
  killEveryMs: number;
  maxKills?: number;
  enqueuePerSecond: number;
  resolveTimeoutMs: number;
  timeoutMs: number;
  catalog?: boolean;
  logFile?: string;
}

/**
 * `npm run chaos`: run orders through a fleet under every fault at once and prove nothing
 * was lost or charged twice. Exits 0 when no problem was found, 1 otherwise (problems listed).
 */
export function registerChaosCommand(program: Command, io: ChaosCommandIo = processDevCommandIo(true)): void {
  program
    .command('chaos')
    .description(
      'run a fleet (private redis-server with AOF, faulty sandbox, webhook receiver, workers) through API faults, 429 bursts, ' +
        'worker SIGKILLs and a Redis restart; check every result, charge and log line against the sandbox, that every invalid ' +
        'intent ends rejected within 60 s and that only orders whose webhook was dropped end unresolved ' +
        '(exit 1 listing the problems if any); needs redis-server on PATH',
    )
    .option('--orders <n>', 'intents to enqueue, about 3 % invalid ones and 1 % duplicates included', wholeNumber(1, 100_000), 2_000)
    .option('--workers <n>', 'worker processes', wholeNumber(1, 64), 3)
    .option('--seed <n>', 'seed of the intents, outcomes, faults and victims, for repeatable runs (random by default)', wholeNumber(0, 2 ** 31 - 1))
    .option('--kill-every-ms <ms>', 'SIGKILL a worker this often (a new one starts at once)', wholeNumber(200, 3_600_000), 1_000)
    .option('--max-kills <n>', 'kill at most this many workers (default: until every result is in)', wholeNumber(0, 1_000_000))
    .option('--enqueue-per-second <n>', 'how fast intents are enqueued', wholeNumber(1, 100_000), 100)
    .option('--resolve-timeout-ms <ms>', "workers' RESOLVE_TIMEOUT_MS: how long an ambiguous create waits for its webhook", wholeNumber(1_000, 3_600_000), 20_000)
    .option('--timeout-ms <ms>', 'give up waiting for results after this long', wholeNumber(1_000, 3_600_000), 600_000)
    .option('--catalog', 'give the workers the sample catalog (invalid intents are then rejected before they reach the API)')
    .option('--log-file <path>', 'write every log line of every process to this file (to look into a problem)')
    .action((opts: ChaosCliOptions) =>
      runDevCommand(io, { name: 'chaos' }, async (signal) => {
        const summary = await runChaos({
          orders: opts.orders,
          workers: opts.workers,
          ...(opts.seed === undefined ? {} : { seed: opts.seed }),
          killEveryMs: opts.killEveryMs,
          ...(opts.maxKills === undefined ? {} : { maxKills: opts.maxKills }),
          enqueuePerSecond: opts.enqueuePerSecond,
          resolveTimeoutMs: opts.resolveTimeoutMs,
          timeoutMs: opts.timeoutMs,
          catalog: opts.catalog === true,
          ...(opts.logFile === undefined ? {} : { logFile: opts.logFile }),
          out: io.out,
          err: io.err,
          ...(signal === undefined ? {} : { signal }),
        });
        io.onSummary?.(summary);
        return summary.ok;
      }),
    );
}
