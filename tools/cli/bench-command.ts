import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { parseBenchModes, type BenchMode } from '../bench/bench-modes.js';
import { runBench, type BenchRun } from '../bench/bench-run.js';
import { runClusterBench } from '../bench/cluster-bench-run.js';
import { updateReadmeBenchTable } from '../bench/readme-table.js';
import { runSoak, type SoakRun } from '../bench/soak-run.js';
import { openLoopPlan } from '../bench/open-loop-options.js';
import { runOpenLoopBench, type OpenLoopRun } from '../bench/open-loop-run.js';
import { writeStepCostsResults } from '../bench/bench-output.js';
import { runStepCosts } from '../bench/step-costs.js';
import { renderStepCostsMarkdown } from '../bench/step-costs-report.js';
import { errorMessage, FulfillmentError } from '../../src/errors/errors.js';
import { FleetError } from '../fleet/fleet-error.js';
import { wholeNumber } from '../../src/cli/option-parsers.js';
import { processDevCommandIo, runDevCommand, type RunInterrupts } from './command-runner.js';

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
  /** Receives the whole soak run (tests read it). */
  onSoak?: (run: SoakRun) => void;
  /** Receives a whole open-loop run (tests read it). */
  onOpenLoopRun?: (run: OpenLoopRun) => void;
  /** The built CLI the bench starts its processes from; default dist/cli.js of this package. */
  cliPath?: string;
  /** Called when the bench starts: a signal that aborts it (SIGINT/SIGTERM for the bin) and a dispose. */
  interrupts?: () => RunInterrupts;
}

interface BenchCliOptions {
  orders: number;
  modes: BenchMode[];
  concurrency: number;
  workers: number;
  batchSize: number;
  timeoutMs: number;
  seed: number;
  outDir: string;
  cluster?: boolean;
  partitions: number;
  killPrimary?: boolean;
  soak?: number;
  soakEvery?: number;
  /** true: `--steps` (the tracer alone); false: `--no-steps`; undefined: the bench with the tracer first. */
  steps?: boolean;
  stepOrders: number;
  cpuProf?: string;
  updateReadme?: boolean;
  rate?: string;
  rates?: string;
  duration?: string;
  warmUp?: string;
  fulfilment?: string;
  faults?: string;
}

/** Option keys (as commander names them) → their flags, for telling which options the command line gave. */
const FLAGS: Record<string, string> = {
  orders: '--orders',
  modes: '--modes',
  batchSize: '--batch-size',
  cluster: '--cluster',
  partitions: '--partitions',
  killPrimary: '--kill-primary',
  duration: '--duration',
  warmUp: '--warm-up',
  fulfilment: '--fulfilment',
  faults: '--faults',
  soak: '--soak',
  soakEvery: '--soak-every',
  steps: '--steps',
  cpuProf: '--cpu-prof',
  updateReadme: '--update-readme',
};

/** The flags of the options given on the command line (defaults left out). */
function givenFlags(command: Command): Set<string> {
  return new Set(Object.entries(FLAGS).flatMap(([key, flag]) => (command.getOptionValueSource(key) === 'cli' ? [flag] : [])));
}

/** What every bench run hands back: its markdown, where it was written, and whether it was correct. */
interface PublishedRun {
  markdown: string;
  paths: { markdown: string; json: string };
  report: { ok: boolean };
}

/** The bench's own failures (the fleet, Redis, a bad setting) are reported; anything else is a bug and thrown. */
function isReportedFailure(err: unknown): err is Error {
  return err instanceof FleetError || err instanceof FulfillmentError;
}

function modeList(value: string): BenchMode[] {
  try {
    return parseBenchModes(value);
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
}

/**
 * `npm run bench`: measure the whole pipeline per mode against the BullMQ ceiling and write
 * bench/results/latest.{json,md}.
 */
export function registerBenchCommand(program: Command, io: BenchCommandIo = processDevCommandIo(false)): void {
  program
    .command('bench')
    .description(
      'benchmark the pipeline on a private redis-server (needs redis-server on PATH and a build): throughput, API calls and Redis ' +
        'commands per order, settle → result latency, peak RSS, correctness, per mode, against raw BullMQ no-op jobs; ' +
        'writes <out-dir>/latest.json and latest.md and prints the markdown (exit 1 if any result is wrong)',
    )
    .option('--orders <n>', 'orders per mode (and no-op jobs per ceiling phase)', wholeNumber(1, 1_000_000), 5_000)
    .option('--modes <list>', 'comma-separated: webhook, polling, realistic', modeList, parseBenchModes('webhook,polling,realistic'))
    .option('--concurrency <n>', 'WORKER_CONCURRENCY of each worker process', wholeNumber(1, 1_000), 64)
    .option('--workers <n>', 'worker processes', wholeNumber(1, 32), 2)
    .option('--batch-size <n>', 'intents per addBulk', wholeNumber(1, 100_000), 1_000)
    .option('--timeout-ms <ms>', 'longest one mode may take to produce every result', wholeNumber(1_000, 3_600_000), 300_000)
    .option('--seed <n>', "seed of the sandbox's outcomes", wholeNumber(0, 2 ** 31 - 1), 1)
    .option('--out-dir <dir>', 'where latest.json and latest.md are written', 'bench/results')
    .option(
      '--cluster',
      'instead: the webhook mode on a private local Redis Cluster (3 primaries + 3 replicas; needs redis-cli too): orders/s, commands and ' +
        'Redis CPU per order summed over primaries, commands per primary; writes <out-dir>/cluster-<orders>[-kill].json and .md',
    )
    .option('--partitions <n>', 'QUEUE_PARTITIONS with --cluster', wholeNumber(1, 1_024), 6)
    .option('--kill-primary', 'with --cluster: SIGKILL the primary serving the most partitions once half the results are in')
    .option(
      '--soak <orders>',
      'instead: a long webhook-mode run of <orders> orders fed with a bounded backlog, every result consumed; samples every process\'s RSS ' +
        'and Redis memory per finished order every --soak-every results, judges worker RSS flat (±10 %); writes <out-dir>/soak-<orders>.json and .md ' +
        '(with it, --timeout-ms is the longest the run may go without a new result)',
      wholeNumber(1, 10_000_000),
    )
    .option('--soak-every <n>', 'with --soak: results between two samples (default 10000, or the soak\'s orders when fewer)', wholeNumber(1, 10_000_000))
    .option(
      '--rate <n>',
      'instead: the open-loop bench (webhook mode): Poisson arrivals at n intents/s, scheduled by the clock; p50/p95/p99/max of ' +
        'enqueue → result and settle → result, achieved rate; writes <out-dir>/open-loop-<n>.json and .md',
    )
    .option('--rates <list>', 'the open-loop bench at each rate in turn (comma-separated), a latency-vs-load table and the highest rate within target; writes <out-dir>/open-loop-<a-b-c>.json and .md')
    .option('--duration <s>', 'with --rate/--rates: seconds of arrivals per rate, the first 2 of them warm-up (default 20)')
    .option('--warm-up <s>', 'with --rate/--rates: seconds of arrivals per rate left out of the figures, the fleet warming up (default 2)')
    .option('--fulfilment <kind>', 'with --rate/--rates: instant (default) or realistic (200–2000 ms)')
    .option('--faults <mix>', "with --rate/--rates: none (default) or default (the README's sandbox fault mix)")
    .option(
      '--steps',
      'instead: only the per-step trace: Redis commands and µs of each step of an order (enqueue, claim, reserve, attempt record, create, park, ' +
        'wake, finalize, emit, release, complete…), the real components in process driving orders one at a time on a private redis-server; ' +
        'writes <out-dir>/steps.json and steps.md',
    )
    .option('--cpu-prof <dir>', 'burst bench: run every worker and receiver under node --cpu-prof (profiles in <dir>/<mode>) and add each mode\'s top frames to the report')
    .option('--update-readme', 'burst bench: rewrite the bench table block of README.md (this package\'s) from the report just written')
    .option('--no-steps', 'skip the per-step trace the bench runs before the modes')
    .option('--step-orders <n>', 'orders the per-step trace drives, one at a time, per traced mode (webhook, polling)', wholeNumber(1, 10_000), 20)
    .action((opts: BenchCliOptions, command: Command) =>
      runDevCommand(io, { name: 'bench', isReportedFailure }, async (signal) => {
        // What every kind of run takes from the command line, and how each one's report is published.
        const shared = {
          concurrency: opts.concurrency,
          workers: opts.workers,
          timeoutMs: opts.timeoutMs,
          seed: opts.seed,
          outDir: resolve(opts.outDir),
          ...(io.cliPath === undefined ? {} : { cliPath: io.cliPath }),
          onProgress: (line: string) => io.err.write(`${line}\n`),
          ...(signal === undefined ? {} : { signal }),
        };
        const published = (run: PublishedRun): boolean => {
          io.out.write(run.markdown);
          io.err.write(`bench: wrote ${run.paths.markdown} and ${run.paths.json}\n`);
          if (!run.report.ok) io.err.write('bench: some results were wrong (see "correctness" in the report)\n');
          return run.report.ok;
        };
        const plan = openLoopPlan({
          ...(opts.rate === undefined ? {} : { rate: opts.rate }),
          ...(opts.rates === undefined ? {} : { rates: opts.rates }),
          ...(opts.duration === undefined ? {} : { duration: opts.duration }),
          ...(opts.warmUp === undefined ? {} : { warmUp: opts.warmUp }),
          ...(opts.fulfilment === undefined ? {} : { fulfilment: opts.fulfilment }),
          ...(opts.faults === undefined ? {} : { faults: opts.faults }),
          given: givenFlags(command),
        });
        if (plan !== null) {
          const openLoop = await runOpenLoopBench({ plan, ...shared });
          io.onOpenLoopRun?.(openLoop);
          return published(openLoop);
        }
        if (opts.killPrimary === true && opts.cluster !== true) throw new FleetError('--kill-primary needs --cluster');
        if (opts.soakEvery !== undefined && opts.soak === undefined) throw new FleetError('--soak-every needs --soak');
        if (opts.steps === true && (opts.cluster === true || opts.soak !== undefined)) throw new FleetError('--steps runs only the per-step trace: it does not go with --cluster or --soak');
        if (opts.steps === true) {
          const report = await runStepCosts({
            orders: opts.stepOrders,
            onProgress: (line) => io.err.write(`${line}\n`),
            ...(signal === undefined ? {} : { signal }),
          });
          const markdown = renderStepCostsMarkdown(report);
          const paths = await writeStepCostsResults(resolve(opts.outDir), report, markdown);
          io.out.write(markdown);
          io.err.write(`bench: wrote ${paths.markdown} and ${paths.json}\n`);
          return true;
        }
        if (opts.soak !== undefined) {
          if (opts.cluster === true) throw new FleetError('--soak runs on one private redis-server: it does not take --cluster');
          const soakRun = await runSoak({
            ...shared,
            orders: opts.soak,
            ...(opts.soakEvery === undefined ? {} : { every: opts.soakEvery }),
            batchSize: opts.batchSize,
          });
          io.onSoak?.(soakRun);
          return published(soakRun);
        }
        if (opts.cluster === true) {
          return published(
            await runClusterBench({ ...shared, orders: opts.orders, partitions: opts.partitions, batchSize: opts.batchSize, killPrimary: opts.killPrimary === true }),
          );
        }
        const run = await runBench({
          ...shared,
          orders: opts.orders,
          modes: opts.modes,
          batchSize: opts.batchSize,
          steps: opts.steps !== false,
          stepOrders: opts.stepOrders,
          ...(opts.cpuProf === undefined ? {} : { cpuProfDir: resolve(opts.cpuProf) }),
        });
        if (opts.updateReadme === true) {
          const readme = fileURLToPath(new URL('../../README.md', import.meta.url));
          await updateReadmeBenchTable(readme, run.report);
          io.err.write(`bench: rewrote the bench table of ${readme}\n`);
        }
        io.onRun?.(run);
        return published(run);
      }),
    );

}
