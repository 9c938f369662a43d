import { QueueEvents, type Job, type JobType } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkResults } from '../checks/result-check.js';
import { singleRedisOf, startFleet, type Fleet } from '../fleet/fleet.js';
import type { PartitionQueues } from '../../src/queue/partition-queues.js';
import { FleetError } from '../fleet/fleet-error.js';
import type { OrderResult } from '../../src/lifecycle/order-state.js';
import { enqueueOrders } from '../../src/queue/enqueue-order.js';
import type { ModeReport } from './bench-report.js';
import { benchIntents } from './bench-intents.js';
import { benchModeSetup, benchSandboxOptions, type BenchMode } from './bench-modes.js';
import { callsPerPlacedOrder, durationPercentiles, formatSeconds, perSecond, round, tallyByStatus } from '../figures/run-figures.js';
import { readProfilesOf, summarizeProfiles } from './cpu-profile.js';
import { readCpuMs, readPeakRssBytes } from './process-stats.js';
import { readRedisMemory, readUsedMemory } from './redis-memory.js';
import { readRedisSnapshot, redisUsage } from './redis-stats.js';

/** Options of {@link runBenchMode}. */
export interface BenchModeOptions {
  mode: BenchMode;
  /** Intents to enqueue. */
  orders: number;
  /** WORKER_CONCURRENCY of every worker process. */
  concurrency: number;
  /** Worker processes. */
  workers: number;
  /** The bench's private Redis. */
  redisUrl: string;
  /** Intents per addBulk. */
  batchSize: number;
  /** Longest the mode may take to produce every result, in ms. */
  timeoutMs: number;
  /** Seed of the sandbox's outcomes. */
  seed: number;
  /** CATALOG_PATH for the workers, or none. */
  catalogPath?: string;
  /** The built CLI; default dist/cli.js of this package. */
  cliPath?: string;
  /** Aborting stops the run (everything is closed) with a FleetError. */
  signal?: AbortSignal;
  /** Receives a progress line now and then. */
  onProgress?: (line: string) => void;
  /**
   * Run every worker and receiver under `node --cpu-prof`, writing the profiles into this directory,
   * and summarize them in the report. Default: no profiling.
   */
  cpuProfDir?: string;
}

const RESULT_STATES: JobType[] = ['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children'];
const UNFINISHED_INTENT_STATES: JobType[] = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'];
const POLL_MS = 200;
const PROGRESS_GAP_MS = 2_000;
/** How long intent jobs may take to finish after the last result (they complete just after emitting it), in ms. */
const DRAIN_TIMEOUT_MS = 10_000;
const MAX_PROBLEMS = 20;



/**
 * Wait until `expected` results exist. Returns why it gave up (timeout, a crashed process), or
 * null when every result came in. Does not read the results: the Redis counters are read first.
 */
async function waitForResultCount(fleet: Fleet, expected: number, options: BenchModeOptions): Promise<string | null> {
  const start = Date.now();
  let lastProgressAt = start;
  for (;;) {
    if (options.signal?.aborted) throw new FleetError('the bench was interrupted');
    const done = await fleet.resultCount();
    if (done >= expected) return null;
    const now = Date.now();
    if (now - lastProgressAt >= PROGRESS_GAP_MS) {
      lastProgressAt = now;
      options.onProgress?.(`  ${options.mode}: ${done}/${expected} results after ${formatSeconds(now - start)}`);
    }
    const dead = fleet.crashed();
    if (dead.length > 0) return `${dead.map((p) => p.name).join(', ')} exited unexpectedly with ${done} of ${expected} results in`;
    if (now - start >= options.timeoutMs) return `only ${done} of ${expected} results after ${options.timeoutMs} ms`;
    await sleep(POLL_MS);
  }
}

/** A count summed over every partition of the fleet. */
async function sumOver(fleet: Fleet, count: (partition: PartitionQueues) => Promise<number>): Promise<number> {
  return (await Promise.all(fleet.queues.partitions.map(count))).reduce((sum, n) => sum + n, 0);
}

/** Wait (bounded) until no intent job is waiting, delayed or active, so the counters hold every order's whole cost. */
async function waitForIntentsDrained(fleet: Fleet, options: BenchModeOptions): Promise<void> {
  const deadline = AbortSignal.timeout(DRAIN_TIMEOUT_MS);
  for (;;) {
    const left = await sumOver(fleet, (p) => p.intents.getJobCountByTypes(...UNFINISHED_INTENT_STATES));
    if (left === 0) return;
    if (deadline.aborted) {
      options.onProgress?.(`  ${options.mode}: ${left} intent jobs still unfinished ${DRAIN_TIMEOUT_MS} ms after the last result; measuring anyway`);
      return;
    }
    await sleep(20);
  }
}

/**
 * Run one mode: a fleet on the bench's Redis, `orders` intents enqueued in batches, wait for every
 * result, then measure. Always closes the fleet. A run that does not finish is reported (its
 * correctness check fails), not thrown; a fleet that cannot start, or an abort, throws.
 */
export async function runBenchMode(options: BenchModeOptions): Promise<ModeReport> {
  const { report, workerPids, receiverPids } = await runBenchModeFleet(options);
  const dir = options.cpuProfDir;
  if (dir === undefined) return report;
  const receiver = readProfilesOf(dir, receiverPids);
  return {
    ...report,
    cpuProfile: { workers: summarizeProfiles(readProfilesOf(dir, workerPids)), receiver: receiver.length === 0 ? null : summarizeProfiles(receiver) },
  };
}

async function runBenchModeFleet(options: BenchModeOptions): Promise<{ report: ModeReport; workerPids: number[]; receiverPids: number[] }> {
  const setup = benchModeSetup(options.mode, options.concurrency);
  const fleet = await startFleet({
    redis: { url: options.redisUrl, mode: 'url' },
    label: `bench-${options.mode}`,
    workers: options.workers,
    webhook: setup.receiver,
    sandbox: benchSandboxOptions(setup, options.seed),
    env: setup.env,
    ...(options.catalogPath === undefined ? {} : { catalogPath: options.catalogPath }),
    ...(options.cliPath === undefined ? {} : { cliPath: options.cliPath }),
    ...(options.cpuProfDir === undefined ? {} : { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] }),
  });
  // Profiles are written as the processes exit: which is whose is known only now.
  const pidsOf = (role: string): number[] => fleet.processes().filter((p) => p.role === role).map((p) => p.pid);
  // Counts every add to order-results (a re-add of an existing job id is a `duplicated` event), in every partition.
  const resultEvents = fleet.queues.partitions.map((p) => new QueueEvents(p.results.name, { connection: { url: options.redisUrl }, prefix: p.partition.prefix }));
  const resultAdds = { added: 0, duplicated: 0 };
  for (const events of resultEvents) {
    events.on('added', () => (resultAdds.added += 1));
    events.on('duplicated', () => (resultAdds.duplicated += 1));
  }
  try {
    await Promise.all(resultEvents.map((events) => events.waitUntilReady()));
    const intents = benchIntents(options.orders, `bench-${options.mode}`);
    const redis = singleRedisOf(fleet, 'the bench');
    const before = await readRedisSnapshot(redis);
    const usedMemoryBefore = await readUsedMemory(redis);
    // CPU from here to the drain: what the orders cost each process (startup left out).
    const cpuBefore = new Map(fleet.processes().map((p) => [p.name, readCpuMs(p.pid)]));
    const benchCpuBefore = process.cpuUsage();
    const firstEnqueueAtMs = Date.now();
    for (let start = 0; start < intents.length; start += options.batchSize) {
      await enqueueOrders(fleet.queues, intents.slice(start, start + options.batchSize));
    }
    const enqueueMs = Date.now() - firstEnqueueAtMs;
    const waitFailure = await waitForResultCount(fleet, intents.length, options);
    // Every result is in: an intent job still delayed now is a finished order's job left parked.
    const delayedAtLastResult = await sumOver(fleet, (p) => p.intents.getDelayedCount());
    if (waitFailure === null) await waitForIntentsDrained(fleet, options);
    const after = await readRedisSnapshot(redis);
    const benchCpu = process.cpuUsage(benchCpuBefore);
    const perOrder = (ms: number | null): number | null => (ms === null ? null : round(ms / intents.length, 3));
    const cpuMsPerOrder = [
      ...fleet
        .processes()
        .filter((p) => p.running)
        .map((p) => {
          const [start, end] = [cpuBefore.get(p.name) ?? null, readCpuMs(p.pid)];
          return { process: p.name, ms: perOrder(start === null || end === null ? null : end - start) };
        })
        .sort((a, b) => a.process.localeCompare(b.process)),
      { process: 'bench (sandbox, enqueue, result polls)', ms: perOrder((benchCpu.user + benchCpu.system) / 1000) },
    ];
    const sampleId = intents[0]?.merchant_order_id ?? '';
    // The sample order's keys live in its partition's area.
    const memory = await readRedisMemory(redis, fleet.queues.forOrder(sampleId).partition.prefix, sampleId, usedMemoryBefore, intents.length);

    const jobs = (await Promise.all(fleet.queues.partitions.map((p) => p.results.getJobs(RESULT_STATES)))).flat() as Job<OrderResult>[];
    // A resolution (of an unresolved result) is a job of its own, judged by checkResults, not a result.
    const isResolution = (job: Job<OrderResult>): boolean => job.data.resolves !== undefined && job.data.resolves !== null;
    const results = new Map(jobs.filter((job) => !isResolution(job)).map((job) => [job.data.merchant_order_id, job.data]));
    const resolutions = new Map(jobs.filter(isResolution).map((job) => [job.data.merchant_order_id, job.data]));
    // The event stream is read a moment behind the adds.
    for (let i = 0; i < 50 && resultAdds.added < jobs.length; i++) await sleep(20);
    const resultAtMs = new Map(jobs.filter((job) => !isResolution(job)).map((job) => [job.data.merchant_order_id, job.timestamp]));
    const sandboxOrders = fleet.sandbox.orders();
    const stats = fleet.sandbox.stats();
    // VmHWM vanishes with the process: read it now, just before close() stops them.
    const peakRss = fleet
      .processes()
      .filter((p) => p.running)
      .map((p) => ({ process: p.name, bytes: readPeakRssBytes(p.pid) }))
      .sort((a, b) => a.process.localeCompare(b.process));

    const byStatus = tallyByStatus(results.values());
    let lastResultAtMs = firstEnqueueAtMs;
    for (const at of resultAtMs.values()) lastResultAtMs = Math.max(lastResultAtMs, at);
    const durationMs = Math.max(1, lastResultAtMs - firstEnqueueAtMs);

    const settleToResult: number[] = [];
    for (const order of sandboxOrders) {
      const at = order.merchantOrderId === null ? undefined : resultAtMs.get(order.merchantOrderId);
      if (order.settledAtMs !== null && at !== undefined) settleToResult.push(at - order.settledAtMs);
    }

    const placed = sandboxOrders.length;
    const { problems } = checkResults({ expected: intents.map((i) => i.merchant_order_id), results, sandboxOrders, resolutions, resultJobs: jobs.length });
    if (waitFailure !== null) problems.unshift(waitFailure);

    const report: ModeReport = {
      mode: options.mode,
      setup: {
        receiver: setup.receiver,
        fulfilmentMs: { min: setup.fulfilment.minMs, max: setup.fulfilment.maxMs },
        workers: options.workers,
        env: setup.env,
        catalog: options.catalogPath !== undefined,
        notes: setup.notes,
      },
      orders: intents.length,
      results: results.size,
      byStatus,
      enqueueMs,
      durationMs,
      ordersPerSecond: perSecond(results.size, durationMs, 1),
      ratioToCeiling: null,
      placedOrders: placed,
      callsPerPlacedOrder: callsPerPlacedOrder(stats.calls, placed),
      redis: redisUsage(before, after, intents.length),
      memory,
      settleToResultMs: durationPercentiles(settleToResult),
      peakRss,
      webhooks: stats.webhooks,
      resultAdds: { ...resultAdds },
      delayedAtLastResult,
      cpuMsPerOrder,
      correctness: { ok: problems.length === 0, problemCount: problems.length, problems: problems.slice(0, MAX_PROBLEMS) },
    };
    return { report, workerPids: pidsOf('worker'), receiverPids: pidsOf('webhook') };
  } finally {
    await Promise.all(resultEvents.map((events) => events.close()));
    await fleet.close();
  }
}
