import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { sampleCatalogPath } from '../../src/catalog/catalog-file.js';
import { FleetError } from '../fleet/fleet-error.js';
import { hasRedisServer, startPrivateRedis } from '../fleet/private-redis.js';
import { formatMs } from '../figures/run-figures.js';
import { machineInfo } from './machine-info.js';
import { sweepSummary } from './open-loop-figures.js';
import type { OpenLoopPlan } from './open-loop-options.js';
import { TICK_MS, runOpenLoopRate } from './open-loop-rate-run.js';
import { rateOutcome, renderOpenLoopMarkdown, writeOpenLoopResults, type OpenLoopOutputPaths, type OpenLoopRateReport, type OpenLoopReport } from './open-loop-report.js';
import { openLoopSetup } from './open-loop-setup.js';
import { readRedisVersion } from './redis-stats.js';

/** Options of {@link runOpenLoopBench}. */
export interface OpenLoopBenchOptions {
  plan: OpenLoopPlan;
  /** WORKER_CONCURRENCY of every worker process. */
  concurrency: number;
  /** Worker processes. */
  workers: number;
  /** Longest the wait for every result may take after a rate's arrivals stop, in ms. */
  timeoutMs: number;
  /** Seed of the arrivals and the sandbox's outcomes. */
  seed: number;
  /** Where open-loop-<rates>.{json,md} go. */
  outDir: string;
  /** The product's built CLI; default dist/cli.js of this package. */
  cliPath?: string;
  /** Aborting stops the run: everything started is closed and the run throws a FleetError. */
  signal?: AbortSignal;
  /** Receives progress lines (stderr for the CLI). */
  onProgress?: (line: string) => void;
}

/** What {@link runOpenLoopBench} produced. */
export interface OpenLoopRun {
  report: OpenLoopReport;
  markdown: string;
  paths: OpenLoopOutputPaths;
}

/**
 * `npm run bench -- --rate R` / `--rates a,b,c`: on a private redis-server, each rate on a fresh
 * webhook-mode fleet (so one rate's backlog or leftovers cannot slow the next), one after the other;
 * then the latency-vs-load table and the verdict. Always stops the redis-server.
 */
export async function runOpenLoopBench(options: OpenLoopBenchOptions): Promise<OpenLoopRun> {
  const { plan } = options;
  const progress = options.onProgress ?? (() => undefined);
  if (!hasRedisServer()) {
    throw new FleetError('the bench needs redis-server on PATH (it always runs its own, so its counters are its alone): apt-get install redis-server');
  }
  const setup = openLoopSetup(plan.fulfilment, plan.faults, options.concurrency, options.seed);
  const catalogPath = sampleCatalogPath();
  const catalog = existsSync(catalogPath);
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
    progress(
      `bench: open loop on private redis-server ${redisVersion} (port ${server.port}): rates ${plan.rates.join(', ')}/s, ${plan.durationS} s each, ` +
        `fulfilment ${plan.fulfilment}, faults ${plan.faults}`,
    );
    const rates: OpenLoopRateReport[] = [];
    for (const rate of plan.rates) {
      if (options.signal?.aborted) throw new FleetError('the bench was interrupted');
      progress(`bench: ${rate}/s for ${plan.durationS} s`);
      const r = await runOpenLoopRate({
        rate,
        durationS: plan.durationS,
        warmUpMs: plan.warmUpS * 1000,
        setup,
        concurrency: options.concurrency,
        workers: options.workers,
        redisUrl: server.url,
        timeoutMs: options.timeoutMs,
        seed: options.seed,
        ...(catalog ? { catalogPath } : {}),
        ...(options.cliPath === undefined ? {} : { cliPath: options.cliPath }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        onProgress: progress,
      });
      const p99 = (v: number | undefined): string => (v === undefined ? 'n/a' : formatMs(v));
      progress(
        `bench: ${rate}/s: achieved ${r.throughput.achievedPerSecond}/s, enqueue → result p99 ${p99(r.latency.enqueueToResultMs?.p99)}, ` +
          `settle → result p99 ${p99(r.latency.settleToResultMs?.p99)}, sustained: ${r.throughput.sustained ? 'yes' : 'no'}, correct: ${r.correctness.ok ? 'yes' : 'NO'}`,
      );
      rates.push(r);
    }
    const report: OpenLoopReport = {
      date,
      machine,
      settings: {
        rates: plan.rates,
        durationS: plan.durationS,
        warmUpS: plan.warmUpS,
        tickMs: TICK_MS,
        fulfilment: plan.fulfilment,
        fulfilmentMs: setup.fulfilmentMs,
        faults: plan.faults,
        workers: options.workers,
        concurrency: options.concurrency,
        seed: options.seed,
        env: setup.env,
        catalog,
        drainLimitMs: setup.drainLimitMs,
        growthLimitMs: setup.growthLimitMs,
        notes: setup.notes,
      },
      rates,
      summary: sweepSummary(rates.map(rateOutcome)),
      ok: rates.every((r) => r.correctness.ok),
    };
    const markdown = renderOpenLoopMarkdown(report);
    const paths = await writeOpenLoopResults(options.outDir, report, markdown);
    return { report, markdown, paths };
  } finally {
    await server.destroy();
  }
}
