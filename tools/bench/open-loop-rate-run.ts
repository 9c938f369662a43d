import type { Job, JobType } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';
import type { OrderResult } from '../../src/lifecycle/order-state.js';
import type { PartitionQueues } from '../../src/queue/partition-queues.js';
import { enqueueOrders } from '../../src/queue/enqueue-order.js';
import { errorMessage } from '../../src/errors/errors.js';
import { checkResults } from '../checks/result-check.js';
import { callsPerPlacedOrder, durationPercentiles, formatSeconds, tallyByStatus } from '../figures/run-figures.js';
import { FleetError } from '../fleet/fleet-error.js';
import { singleRedisOf, startFleet, type Fleet } from '../fleet/fleet.js';
import { benchIntents } from './bench-intents.js';
import { rateFigures, withinTarget, type OrderTiming } from './open-loop-figures.js';
import { WARM_UP_MS } from './open-loop-options.js';
import { rateOutcome, type OpenLoopRateReport } from './open-loop-report.js';
import type { OpenLoopSetup } from './open-loop-setup.js';
import { dueUpTo, poissonArrivals } from './poisson-schedule.js';
import { readRedisSnapshot, redisUsage } from './redis-stats.js';

/** The clock loop's sleep between ticks, in ms (Node's timers wake ~1 ms late, so ticks come every ~2–4 ms). */
export const TICK_MS = 2;

/** Options of {@link runOpenLoopRate}. */
export interface OpenLoopRateOptions {
  /** Offered rate, in intents/s. */
  rate: number;
  /** Arrival window, in s. */
  durationS: number;
  /** Arrivals of the first this many ms are warm-up, left out of the figures. Default WARM_UP_MS. */
  warmUpMs?: number;
  setup: OpenLoopSetup;
  /** WORKER_CONCURRENCY of every worker process. */
  concurrency: number;
  /** Worker processes. */
  workers: number;
  /** The bench's private Redis. */
  redisUrl: string;
  /** Longest the wait for every result may take after the arrivals stop, in ms. */
  timeoutMs: number;
  /** Seed of the arrivals (per rate) and of the sandbox's outcomes. */
  seed: number;
  /** CATALOG_PATH for the workers, or none. */
  catalogPath?: string;
  /** The built CLI; default dist/cli.js of this package. */
  cliPath?: string;
  /** Aborting stops the run (everything is closed) with a FleetError. */
  signal?: AbortSignal;
  /** Receives a progress line now and then. */
  onProgress?: (line: string) => void;
}

const RESULT_STATES: JobType[] = ['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children'];
const UNFINISHED_INTENT_STATES: JobType[] = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'];
const POLL_MS = 100;
const PROGRESS_GAP_MS = 2_000;
/** How long intent jobs may take to finish after the last result, in ms. */
const DRAIN_TIMEOUT_MS = 10_000;
const MAX_PROBLEMS = 20;
/** Slowest orders kept in the report. */
const SLOWEST_KEPT = 5;

/** A count summed over every partition of the fleet. */
async function sumOver(fleet: Fleet, count: (partition: PartitionQueues) => Promise<number>): Promise<number> {
  return (await Promise.all(fleet.queues.partitions.map(count))).reduce((sum, n) => sum + n, 0);
}

/** What the clock loop did. */
interface ArrivalLog {
  startAtMs: number;
  /** Per intent: when its enqueue call was issued (epoch ms), NaN if never. */
  issuedAtMs: number[];
  /** Intents whose enqueueOrders call resolved by the end of the window. */
  enqueuedByEnd: number;
  calls: number;
  failures: string[];
}

/**
 * The open loop: wake every {@link TICK_MS}, enqueue every intent whose scheduled time has come in
 * one enqueueOrders call, and never wait for the call (nor for results) before the next tick.
 */
async function offerArrivals(fleet: Fleet, arrivals: readonly number[], intents: Parameters<typeof enqueueOrders>[1], options: OpenLoopRateOptions): Promise<ArrivalLog> {
  const durationMs = options.durationS * 1000;
  const startAtMs = Date.now();
  const endAtMs = startAtMs + durationMs;
  const log: ArrivalLog = { startAtMs, issuedAtMs: new Array<number>(arrivals.length).fill(Number.NaN), enqueuedByEnd: 0, calls: 0, failures: [] };
  const pending: Promise<void>[] = [];
  let next = 0;
  let lastProgressAt = startAtMs;
  while (next < arrivals.length) {
    if (options.signal?.aborted) throw new FleetError('the bench was interrupted');
    const now = Date.now();
    const upTo = dueUpTo(arrivals, next, now - startAtMs);
    if (upTo > next) {
      const batch = intents.slice(next, upTo);
      for (let i = next; i < upTo; i++) log.issuedAtMs[i] = now;
      log.calls += 1;
      pending.push(
        enqueueOrders(fleet.queues, batch).then(
          () => {
            if (Date.now() <= endAtMs) log.enqueuedByEnd += batch.length;
          },
          (err: unknown) => {
            log.failures.push(`enqueueOrders of ${batch.length} intent(s) failed: ${errorMessage(err)}`);
          },
        ),
      );
      next = upTo;
    }
    if (now - lastProgressAt >= PROGRESS_GAP_MS) {
      lastProgressAt = now;
      options.onProgress?.(`  ${options.rate}/s: ${next}/${arrivals.length} arrivals after ${formatSeconds(now - startAtMs)}`);
    }
    if (next < arrivals.length) await sleep(TICK_MS);
  }
  await Promise.all(pending);
  return log;
}

/** Wait until `expected` results exist; returns why it gave up, or null. */
async function waitForResults(fleet: Fleet, expected: number, options: OpenLoopRateOptions): Promise<string | null> {
  const start = Date.now();
  let lastProgressAt = start;
  for (;;) {
    if (options.signal?.aborted) throw new FleetError('the bench was interrupted');
    const done = await fleet.resultCount();
    if (done >= expected) return null;
    const now = Date.now();
    if (now - lastProgressAt >= PROGRESS_GAP_MS) {
      lastProgressAt = now;
      options.onProgress?.(`  ${options.rate}/s: ${done}/${expected} results ${formatSeconds(now - start)} after the arrivals stopped`);
    }
    const dead = fleet.crashed();
    if (dead.length > 0) return `${dead.map((p) => p.name).join(', ')} exited unexpectedly with ${done} of ${expected} results in`;
    if (now - start >= options.timeoutMs) return `only ${done} of ${expected} results ${options.timeoutMs} ms after the arrivals stopped`;
    await sleep(POLL_MS);
  }
}

/** Wait (bounded) until no intent job is unfinished, so the Redis counters hold every order's whole cost. */
async function waitForIntentsDrained(fleet: Fleet, options: OpenLoopRateOptions): Promise<void> {
  const deadline = AbortSignal.timeout(DRAIN_TIMEOUT_MS);
  for (;;) {
    const left = await sumOver(fleet, (p) => p.intents.getJobCountByTypes(...UNFINISHED_INTENT_STATES));
    if (left === 0) return;
    if (deadline.aborted) {
      options.onProgress?.(`  ${options.rate}/s: ${left} intent jobs still unfinished ${DRAIN_TIMEOUT_MS} ms after the last result; measuring anyway`);
      return;
    }
    await sleep(20);
  }
}

/**
 * One offered rate on a fresh fleet: Poisson arrivals for the window, every result awaited (up to
 * `timeoutMs` after the last arrival), then the figures. Always closes the fleet. A run that does
 * not finish is reported (its correctness check fails), not thrown; a fleet that cannot start, or an
 * abort, throws.
 */
export async function runOpenLoopRate(options: OpenLoopRateOptions): Promise<OpenLoopRateReport> {
  const durationMs = options.durationS * 1000;
  const warmUpMs = options.warmUpMs ?? WARM_UP_MS;
  const arrivals = poissonArrivals(options.rate, durationMs, options.seed);
  const intents = benchIntents(arrivals.length, `open-loop-${options.rate}`);
  const fleet = await startFleet({
    redis: { url: options.redisUrl, mode: 'url' },
    label: `open-loop-${options.rate}`,
    workers: options.workers,
    webhook: true,
    sandbox: options.setup.sandbox,
    env: options.setup.env,
    ...(options.catalogPath === undefined ? {} : { catalogPath: options.catalogPath }),
    ...(options.cliPath === undefined ? {} : { cliPath: options.cliPath }),
  });
  try {
    const redis = singleRedisOf(fleet, 'the bench');
    const before = await readRedisSnapshot(redis);
    const log = await offerArrivals(fleet, arrivals, intents, options);
    const waitFailure = log.failures.length > 0 ? null : await waitForResults(fleet, intents.length, options);
    if (waitFailure === null && log.failures.length === 0) await waitForIntentsDrained(fleet, options);
    const after = await readRedisSnapshot(redis);

    const jobs = (await Promise.all(fleet.queues.partitions.map((p) => p.results.getJobs(RESULT_STATES)))).flat() as Job<OrderResult>[];
    const isResolution = (job: Job<OrderResult>): boolean => job.data.resolves !== undefined && job.data.resolves !== null;
    const results = new Map(jobs.filter((job) => !isResolution(job)).map((job) => [job.data.merchant_order_id, job.data]));
    const resolutions = new Map(jobs.filter(isResolution).map((job) => [job.data.merchant_order_id, job.data]));
    const resultAtMs = new Map(jobs.filter((job) => !isResolution(job)).map((job) => [job.data.merchant_order_id, job.timestamp]));
    const sandboxOrders = fleet.sandbox.orders();
    const bySandbox = new Map(sandboxOrders.flatMap((o) => (o.merchantOrderId === null ? [] : [[o.merchantOrderId, o] as const])));
    const stats = fleet.sandbox.stats();

    const timings: OrderTiming[] = intents.map((intent, i) => {
      const order = bySandbox.get(intent.merchant_order_id);
      const created = order === undefined ? Number.NaN : Date.parse(order.createdAt);
      return {
        scheduledAtMs: log.startAtMs + (arrivals[i] ?? 0),
        resultAtMs: resultAtMs.get(intent.merchant_order_id) ?? null,
        createdAtMs: Number.isNaN(created) ? null : created,
        settledAtMs: order?.settledAtMs ?? null,
      };
    });
    const window = { startAtMs: log.startAtMs, durationMs, warmUpMs, drainLimitMs: options.setup.drainLimitMs, growthLimitMs: options.setup.growthLimitMs };
    const { latency, throughput } = rateFigures(timings, window, options.rate, log.enqueuedByEnd);
    const lags = timings.flatMap((t, i) => {
      const issued = log.issuedAtMs[i] ?? Number.NaN;
      return Number.isNaN(issued) || t.scheduledAtMs < log.startAtMs + warmUpMs ? [] : [Math.max(0, issued - t.scheduledAtMs)];
    });

    const { problems } = checkResults({ expected: intents.map((i) => i.merchant_order_id), results, sandboxOrders, resolutions, resultJobs: jobs.length });
    if (waitFailure !== null) problems.unshift(waitFailure);
    problems.unshift(...log.failures);
    const correctness = { ok: problems.length === 0, problemCount: problems.length, problems: problems.slice(0, MAX_PROBLEMS) };
    const slowest = timings
      .flatMap((t, i) => {
        const intent = intents[i];
        if (intent === undefined || t.resultAtMs === null || t.scheduledAtMs < log.startAtMs + warmUpMs) return [];
        const order = bySandbox.get(intent.merchant_order_id);
        return [
          {
            merchantOrderId: intent.merchant_order_id,
            status: results.get(intent.merchant_order_id)?.status ?? 'none',
            enqueueToResultMs: t.resultAtMs - t.scheduledAtMs,
            settleToResultMs: t.settledAtMs === null ? null : t.resultAtMs - t.settledAtMs,
            webhookAttempts: order?.webhookAttempts ?? null,
          },
        ];
      })
      .sort((a, b) => b.enqueueToResultMs - a.enqueueToResultMs)
      .slice(0, SLOWEST_KEPT);
    const report: OpenLoopRateReport = {
      offeredPerSecond: options.rate,
      arrivals: arrivals.length,
      measuredArrivals: arrivals.filter((at) => at >= warmUpMs).length,
      results: results.size,
      byStatus: tallyByStatus(results.values()),
      throughput,
      latency,
      enqueueLagMs: durationPercentiles(lags),
      enqueueCalls: log.calls,
      redis: redisUsage(before, after, intents.length),
      callsPerPlacedOrder: callsPerPlacedOrder(stats.calls, sandboxOrders.length),
      faults: stats.faults,
      webhooks: stats.webhooks,
      correctness,
      withinTarget: false,
      slowest,
    };
    report.withinTarget = withinTarget(rateOutcome(report));
    return report;
  } finally {
    await fleet.close();
  }
}
