import { existsSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { Presets, SingleBar } from 'cli-progress';
import { sampleCatalogPath } from '../../src/catalog/catalog-file.js';
import { FleetError } from '../fleet/fleet-error.js';
import { formatSeconds } from '../figures/run-figures.js';
import type { OrderResult } from '../../src/lifecycle/order-state.js';
import { summarizeDemo, renderDemoSummary, type DemoSummary } from './demo-summary.js';
import { enqueueSamples } from '../samples/enqueue-samples.js';
import { startFleet, type FleetSandboxOptions, type ResultProgress } from '../fleet/fleet.js';
import { redisUrlForDisplay, type FleetRedisOptions } from '../fleet/fleet-redis.js';
import { sampleIntents } from '../samples/sample-intents.js';

/** A stream the demo writes to; `isTTY` decides between the progress bar and plain lines. */
export type DemoStream = NodeJS.WritableStream & { isTTY?: boolean };

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Intents to enqueue (a few invalid ones and duplicates included). Default 300. */
  orders?: number;
  /** Worker processes. Default 2. */
  workers?: number;
  /** Seed of the intents and of the sandbox's outcomes and faults; random when omitted (and printed). */
  seed?: number;
  /** Where Redis comes from: e.g. `{ url: process.env.REDIS_URL }`; a private redis-server otherwise. */
  redis?: FleetRedisOptions;
  /** How long to wait for every result, in ms. Default 120000. */
  timeoutMs?: number;
  /** `bar` (cli-progress), `lines` (a plain line every ~2 s) or `none`. Default: `bar` on a TTY, else `lines`. */
  progress?: 'bar' | 'lines' | 'none';
  /** Where progress and the summary go (stdout for the CLI). */
  out: DemoStream;
  /** Where failure details go (stderr for the CLI). */
  err: DemoStream;
  /** Aborting stops the run: everything started is closed and runDemo throws a FleetError. */
  signal?: AbortSignal;
}

/** Gap between two plain progress lines, in ms. */
const PROGRESS_LINE_GAP_MS = 2_000;

/**
 * A sandbox that behaves like a busy production API: fulfilment takes 0.1–1.5 s, one order in ten
 * ends partial and one in ten failed, and every fault the worker must survive shows up now and then.
 */
export function demoSandboxOptions(seed: number): FleetSandboxOptions {
  return {
    seed,
    fulfilment: { minMs: 100, maxMs: 1_500, outcomes: { completed: 8, partial: 1, failed: 1 } },
    faults: {
      create: { resetAfterCommit: 0.02, badGatewayAfterCommit: 0.02, unavailableBeforeCommit: 0.02, rateLimited: 0.01 },
      lookup: { notFoundAfterCreate: 0.1 },
      webhook: { duplicate: 0.05, delay: 0.05, delayMs: 500, drop: 0.02 },
      retryAfterSeconds: 1,
    },
    // Failed deliveries are retried after 1 s instead of the API's 60 s, so a demo run stays short.
    webhook: { retryGapMs: 1_000 },
  };
}

/**
 * Worker configuration for the demo: the production defaults scaled down from hours to seconds, so
 * an order whose webhook was dropped is polled within seconds and a lost cause ends `unresolved`
 * well inside the run.
 */
export const DEMO_WORKER_ENV: Readonly<Record<string, string>> = {
  WORKER_CONCURRENCY: '32',
  POLL_INITIAL_DELAY_MS: '500',
  POLL_WEBHOOK_DELAY_MS: '3000',
  POLL_MAX_DELAY_MS: '2000',
  RESOLVE_TIMEOUT_MS: '20000',
  HTTP_TIMEOUT_MS: '3000',
  BALANCE_CACHE_MS: '1000',
  LOG_LEVEL: 'info',
};

function progressReporter(mode: 'bar' | 'lines' | 'none', out: DemoStream, expected: number) {
  if (mode === 'bar') {
    const bar = new SingleBar(
      { stream: out, format: '  results {bar} {value}/{total} | {duration_formatted}', hideCursor: true, fps: 10 },
      Presets.shades_classic,
    );
    bar.start(expected, 0);
    return { update: (p: ResultProgress) => bar.update(Math.min(p.done, expected)), stop: () => bar.stop() };
  }
  if (mode === 'none') return { update: () => undefined, stop: () => undefined };
  let lastAt = Number.NEGATIVE_INFINITY;
  let lastDone = -1;
  return {
    update: (p: ResultProgress) => {
      const finished = p.done >= expected;
      if (p.done === lastDone || (!finished && p.elapsedMs - lastAt < PROGRESS_LINE_GAP_MS)) return;
      lastAt = p.elapsedMs;
      lastDone = p.done;
      const percent = expected === 0 ? 100 : Math.floor((p.done * 100) / expected);
      out.write(`  progress: ${p.done}/${expected} results (${percent}%) after ${formatSeconds(p.elapsedMs)}\n`);
    },
    stop: () => undefined,
  };
}

/**
 * `npm run demo`: start a fleet against a realistic, faulty sandbox, enqueue sample
 * intents, show progress, and print a summary with a verdict. Returns the summary (`ok` says whether
 * the run passed); throws a FleetError when the fleet cannot start. Closes everything it started.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const orders = options.orders ?? 300;
  const workers = options.workers ?? 2;
  const seed = options.seed ?? randomInt(0, 2 ** 31);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const { out, err, signal } = options;
  const checkAborted = (): void => {
    if (signal?.aborted) throw new FleetError('the demo was interrupted');
  };
  if (!Number.isInteger(orders) || orders < 1) throw new FleetError(`orders must be a whole number >= 1 (got ${orders})`);
  if (!Number.isInteger(workers) || workers < 1) throw new FleetError(`workers must be a whole number >= 1 (got ${workers})`);

  const batch = sampleIntents(orders, { seed });
  const catalogPath = sampleCatalogPath();
  out.write(`  starting: Redis, sandbox, webhook receiver and ${workers} workers (seed ${seed})\n`);
  const fleet = await startFleet({
    label: 'demo',
    redis: options.redis ?? {},
    sandbox: demoSandboxOptions(seed),
    workers,
    env: { ...DEMO_WORKER_ENV },
    ...(existsSync(catalogPath) ? { catalogPath } : {}),
  });
  try {
    const redisNote = fleet.redisServer === null ? `Redis at ${redisUrlForDisplay(fleet.redisUrl)}` : `a private redis-server on port ${fleet.redisServer.port}`;
    out.write(`  running: ${redisNote}, key prefix ${fleet.prefix}, sandbox at ${fleet.sandbox.url}\n`);
    checkAborted();
    const enqueued = await enqueueSamples(fleet.queues, batch.intents);
    out.write(`  enqueued ${enqueued.jobs} intents for ${batch.merchantOrderIds.length} merchant_order_ids\n`);

    const expected = batch.merchantOrderIds.length;
    const mode = options.progress ?? (out.isTTY === true ? 'bar' : 'lines');
    const progress = progressReporter(mode, out, expected);
    let results: Map<string, OrderResult>;
    let waitFailure: string | null = null;
    try {
      results = await fleet.waitForResults(expected, { timeoutMs, onProgress: progress.update, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (!(error instanceof FleetError)) throw error;
      checkAborted();
      waitFailure = error.message;
      results = await fleet.readResults();
    } finally {
      progress.stop();
    }

    const summary = summarizeDemo({
      seed,
      workers,
      samples: batch.intents,
      expected: batch.merchantOrderIds,
      enqueuedAtMs: enqueued.enqueuedAtMs,
      firstEnqueueAtMs: enqueued.firstAtMs,
      results,
      resolutions: await fleet.readResolutions(),
      resultJobs: await fleet.resultCount(),
      sandboxOrders: fleet.sandbox.orders(),
      stats: fleet.sandbox.stats(),
      waitFailure,
    });
    out.write(`${renderDemoSummary(summary)}\n`);
    if (!summary.ok) {
      err.write(`demo failed: ${summary.problems.length} problem(s):\n${summary.problems.slice(0, 20).map((p) => `  - ${p}`).join('\n')}\n`);
      if (summary.problems.length > 20) err.write(`  … and ${summary.problems.length - 20} more\n`);
      // The wait's own message carries each process's last log lines.
      if (waitFailure !== null) err.write(`${waitFailure}\n`);
    }
    return summary;
  } finally {
    await fleet.close();
  }
}
