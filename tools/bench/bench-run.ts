import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { sampleCatalogPath } from '../../src/catalog/catalog-file.js';
import { hasRedisServer, startPrivateRedis } from '../fleet/private-redis.js';
import { FleetError } from '../fleet/fleet-error.js';
import { runBenchMode } from './bench-mode-run.js';
import { BENCH_MODES, type BenchMode } from './bench-modes.js';
import { writeBenchResults, type BenchOutputPaths } from './bench-output.js';
import { renderBenchMarkdown, type BenchReport, type ModeReport } from './bench-report.js';
import { round } from '../figures/run-figures.js';
import { measureBullmqCeiling } from './bullmq-ceiling.js';
import { machineInfo } from './machine-info.js';
import { readRedisVersion } from './redis-stats.js';
import { runStepCosts } from './step-costs.js';
import type { StepCostsReport } from './step-costs-report.js';

/** Options of {@link runBench}. */
export interface BenchOptions {
  /** Orders per mode (and no-op jobs per ceiling phase). Default 5000. */
  orders?: number;
  /** Modes to run, in this order. Default webhook, polling, realistic. */
  modes?: readonly BenchMode[];
  /** WORKER_CONCURRENCY of every worker (and of the no-op workers). Default 64. */
  concurrency?: number;
  /** Worker processes (and no-op worker processes). Default 2. */
  workers?: number;
  /** Intents per addBulk. Default 1000. */
  batchSize?: number;
  /** Longest one mode (or one ceiling phase) may take, in ms. Default 300000. */
  timeoutMs?: number;
  /** Seed of the sandbox's outcomes. Default 1. */
  seed?: number;
  /** Where latest.json and latest.md go. */
  outDir: string;
  /** The product's built CLI the fleets start workers and receivers from; default dist/cli.js of this package. */
  cliPath?: string;
  /** Trace the Redis commands of each step of an order first (see step-costs.ts). Default true. */
  steps?: boolean;
  /** Orders the step tracer drives, one at a time, per traced mode. Default 20. */
  stepOrders?: number;
  /** Aborting stops the run: everything started is closed and runBench throws a FleetError. */
  signal?: AbortSignal;
  /** Receives progress lines (stderr for the CLI). */
  onProgress?: (line: string) => void;
  /** Profile every worker and receiver (`node --cpu-prof`) into `<dir>/<mode>` and summarize the profiles per mode. */
  cpuProfDir?: string;
}

/** What {@link runBench} produced. */
export interface BenchRun {
  report: BenchReport;
  markdown: string;
  paths: BenchOutputPaths;
}

function wholeNumber(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new FleetError(`${name} must be a whole number >= ${min} (got ${value})`);
  return value;
}

/**
 * `npm run bench`: on a private redis-server of its own (so its counters are the
 * bench's alone), measure the BullMQ ceiling, then run each mode on a fresh fleet (two worker
 * processes, the receiver as a process, the sandbox in process with no latency), and write the
 * report. Modes run one after the other on the same Redis; each fleet deletes its keys on close.
 * Always stops the redis-server.
 */
export async function runBench(options: BenchOptions): Promise<BenchRun> {
  const orders = wholeNumber('orders', options.orders ?? 5_000, 1);
  const concurrency = wholeNumber('concurrency', options.concurrency ?? 64, 1);
  const workers = wholeNumber('workers', options.workers ?? 2, 1);
  const batchSize = wholeNumber('batchSize', options.batchSize ?? 1_000, 1);
  const timeoutMs = wholeNumber('timeoutMs', options.timeoutMs ?? 300_000, 1_000);
  const seed = wholeNumber('seed', options.seed ?? 1, 0);
  const stepOrders = wholeNumber('stepOrders', options.stepOrders ?? 20, 1);
  const modes = [...(options.modes ?? BENCH_MODES)];
  if (modes.length === 0) throw new FleetError('no mode to run');
  const progress = options.onProgress ?? (() => undefined);
  const checkAborted = (): void => {
    if (options.signal?.aborted) throw new FleetError('the bench was interrupted');
  };
  if (!hasRedisServer()) {
    throw new FleetError('the bench needs redis-server on PATH (it always runs its own, so its counters are its alone): apt-get install redis-server');
  }
  const catalogPath = sampleCatalogPath();
  const date = new Date().toISOString();

  const server = await startPrivateRedis();
  try {
    const admin = new Redis(server.url, { maxRetriesPerRequest: null });
    let redisVersion: string;
    try {
      redisVersion = await readRedisVersion(admin);
    } finally {
      await admin.quit();
    }
    const machine = machineInfo(redisVersion);
    progress(`bench: private redis-server ${redisVersion} on port ${server.port}; ${orders} orders per mode, modes ${modes.join(', ')}`);

    // First, while the server is quiet: the tracer reads server-wide counters.
    let steps: StepCostsReport | undefined;
    if (options.steps !== false) {
      checkAborted();
      steps = await runStepCosts({
        redisUrl: server.url,
        orders: stepOrders,
        onProgress: progress,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    }

    checkAborted();
    progress(`bench: BullMQ ceiling (${workers} no-op worker processes × ${concurrency}, ${orders} jobs per phase)`);
    const ceiling = await measureBullmqCeiling({
      redisUrl: server.url,
      jobs: orders,
      workers,
      concurrency,
      batchSize,
      timeoutMs,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    progress(`bench: ceiling ${ceiling.endToEndPerSecond} no-op jobs/s end to end`);

    const reports: ModeReport[] = [];
    for (const mode of modes) {
      checkAborted();
      progress(`bench: mode ${mode}`);
      const report = await runBenchMode({
        mode,
        orders,
        concurrency,
        workers,
        redisUrl: server.url,
        batchSize,
        timeoutMs,
        seed,
        ...(existsSync(catalogPath) ? { catalogPath } : {}),
        ...(options.cliPath === undefined ? {} : { cliPath: options.cliPath }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.cpuProfDir === undefined ? {} : { cpuProfDir: join(options.cpuProfDir, mode) }),
        onProgress: progress,
      });
      report.ratioToCeiling = ceiling.endToEndPerSecond > 0 ? round(report.ordersPerSecond / ceiling.endToEndPerSecond, 3) : null;
      progress(`bench: ${mode}: ${report.ordersPerSecond} orders/s, correct: ${report.correctness.ok ? 'yes' : 'NO'}`);
      reports.push(report);
    }

    const report: BenchReport = {
      date,
      machine,
      settings: { orders, modes, concurrency, workers, batchSize, seed },
      ceiling,
      modes: reports,
      ...(steps === undefined ? {} : { steps }),
      ok: reports.every((r) => r.correctness.ok),
    };
    const markdown = renderBenchMarkdown(report);
    const paths = await writeBenchResults(options.outDir, report, markdown);
    return { report, markdown, paths };
  } finally {
    await server.destroy();
  }
}
