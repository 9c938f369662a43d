import { createWriteStream, existsSync, openSync, type WriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { finished } from 'node:stream/promises';
import { randomBytes, randomInt } from 'node:crypto';
import type { Job } from 'bullmq';
import { sampleCatalogPath } from '../../src/catalog/catalog-file.js';
import { enqueueSamples } from '../samples/enqueue-samples.js';
import { startFleet, type Fleet, type ResultProgress } from '../fleet/fleet.js';
import { invalidSampleNotes, sampleIntents } from '../samples/sample-intents.js';
import type { FailedIntentJob } from '../checks/result-check.js';
import { FleetError } from '../fleet/fleet-error.js';
import { formatSeconds } from '../figures/run-figures.js';
import type { OrderResult } from '../../src/lifecycle/order-state.js';
import { seededRandom, streamSeed } from '../../src/sandbox/seeded-random.js';
import type { SandboxOrderRecord } from '../../src/sandbox/sandbox-types.js';
import { CHAOS_INVALID_CASES, chaosBaseFaults, chaosSandboxOptions, chaosWorkerEnv, withRateLimitBurst, type ChaosSecrets } from './chaos-faults.js';
import { LogFactCollector } from './chaos-log-facts.js';
import { LogLeakScanner } from './chaos-log-scan.js';
import { ChaosMonkey } from './chaos-monkey.js';
import { renderChaosReport } from './chaos-report.js';
import { summarizeChaos, type ChaosObservations, type ChaosSummary } from './chaos-summary.js';

/** A stream the chaos run writes to. */
export type ChaosStream = NodeJS.WritableStream;

/** Options of {@link runChaos}. Durations in ms. */
export interface ChaosOptions {
  /** Intents to enqueue (about 3 % invalid ones and 1 % duplicates included). Default 2000. */
  orders?: number;
  /** Worker processes (a webhook receiver runs as well). Default 3. */
  workers?: number;
  /** Seed of the intents, the sandbox's outcomes and faults, and the choice of victims; random when omitted (and printed). */
  seed?: number;
  /** Intents enqueued per second, so faults meet work in flight all along. Default 100. */
  enqueuePerSecond?: number;
  /** Gap between two worker kills (longer when a replacement takes longer to start). Default 1000. */
  killEveryMs?: number;
  /** Kills at most. Default unlimited (until every result is in). */
  maxKills?: number;
  /** Gap between two 429 bursts. Default 4000. */
  burstEveryMs?: number;
  /** Length of a 429 burst. Default 1000. */
  burstMs?: number;
  /** Probability of a 429 on create and lookup during a burst, 0..1. Default 0.9. */
  burstProbability?: number;
  /** Share of the intents enqueued when Redis is restarted (once), 0..1. Default 0.4. */
  redisRestartAt?: number;
  /** How long Redis stays down. Default 1000. */
  redisDownMs?: number;
  /** WORKER_LOCK_MS of the workers: how soon a killed worker's jobs come back. Default 5000. */
  lockMs?: number;
  /** RESOLVE_TIMEOUT_MS of the workers: how long an ambiguous create waits for its webhook. Default 20000. */
  resolveTimeoutMs?: number;
  /** Give up waiting for the results after this long. Default 600000. */
  timeoutMs?: number;
  /**
   * Give the workers the sample catalog (CATALOG_PATH). Default false: without it the invalid
   * intents reach the API and, after an ambiguous attempt, prove the rule that a provable
   * rejection ends `rejected` at once; with it they are rejected before anything is sent.
   */
  catalog?: boolean;
  /**
   * Write every log line of every process here (`[worker-3] {...}`), for looking into a problem.
   * The lines hold no credentials unless the run reports a leak; they do hold order ids.
   */
  logFile?: string;
  /** Where progress and the report go. */
  out: ChaosStream;
  /** Where the failure line goes. */
  err: ChaosStream;
  /** Aborting stops the run: everything started is closed and runChaos throws a FleetError. */
  signal?: AbortSignal;
}

/** Gap between two progress lines, in ms. */
const PROGRESS_GAP_MS = 2_000;
/** Intents per enqueue round. */
const ENQUEUE_BATCH = 20;
/** How long sandbox orders may take to settle once every result is in, in ms. */
const SETTLE_WAIT_MS = 15_000;
/** Share of the intents that are invalid. */
const INVALID_SHARE = 0.03;

function requireWhole(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new FleetError(`${name} must be a whole number >= ${min} (got ${value})`);
}


/**
 * `npm run chaos`: run a fleet (private Redis with AOF, sandbox, webhook receiver,
 * workers) through a storm of faults — sandbox faults, 429 bursts, worker SIGKILLs, a Redis
 * restart — then check every result, every charge and every log line against the sandbox's own
 * records; every invalid intent must end `rejected` within a minute and the only `unresolved`
 * results must be orders whose webhook the sandbox dropped. Prints the figures and every problem;
 * returns the summary (`ok` = no problem). Throws a FleetError when the fleet cannot start or the
 * run is interrupted. Closes everything it started.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosSummary> {
  const orders = options.orders ?? 2_000;
  const workers = options.workers ?? 3;
  const seed = options.seed ?? randomInt(0, 2 ** 31);
  const killEveryMs = options.killEveryMs ?? 1_000;
  const burstEveryMs = options.burstEveryMs ?? 4_000;
  const burstMs = options.burstMs ?? 1_000;
  const redisDownMs = options.redisDownMs ?? 1_000;
  const lockMs = options.lockMs ?? 5_000;
  const resolveTimeoutMs = options.resolveTimeoutMs ?? 20_000;
  const timeoutMs = options.timeoutMs ?? 600_000;
  const perSecond = options.enqueuePerSecond ?? 100;
  const restartAt = options.redisRestartAt ?? 0.4;
  const { out, err, signal } = options;
  requireWhole('orders', orders, 1);
  requireWhole('workers', workers, 1);
  if (!(perSecond > 0)) throw new FleetError(`enqueuePerSecond must be > 0 (got ${perSecond})`);
  if (!(restartAt >= 0 && restartAt <= 1)) throw new FleetError(`redisRestartAt must lie in 0..1 (got ${restartAt})`);
  const checkAborted = (): void => {
    if (signal?.aborted) throw new FleetError('the chaos run was interrupted');
  };

  const batch = sampleIntents(orders, { seed, idPrefix: 'chaos', invalidCases: CHAOS_INVALID_CASES, invalidShare: INVALID_SHARE });
  const expected = batch.merchantOrderIds;
  const mustReject = invalidSampleNotes(batch.intents);
  const secrets: ChaosSecrets = { apiKey: `ak_chaos_${randomBytes(16).toString('hex')}`, webhookSecret: `whsec_chaos_${randomBytes(16).toString('hex')}` };
  const scanner = new LogLeakScanner(secrets);
  const collector = new LogFactCollector();
  const baseFaults = chaosBaseFaults();
  const catalogPath = options.catalog === true ? sampleCatalogPath() : null;
  if (catalogPath !== null && !existsSync(catalogPath)) throw new FleetError(`no sample catalog at ${catalogPath} (run \`npm run catalog:sample\`)`);
  // Opened up front so a bad path fails before anything is started; a later write error is a problem of the run.
  const logFile: WriteStream | null = options.logFile === undefined ? null : createWriteStream(options.logFile, { fd: openSync(options.logFile, 'w') });
  const runFailures: string[] = [];
  logFile?.on('error', (error) => runFailures.push(`writing the log file failed: ${error.message}`));
  const closeLogFile = async (): Promise<void> => {
    if (logFile === null || logFile.writableEnded) return;
    logFile.end();
    // A write error was already recorded by the error listener.
    await finished(logFile).catch(() => undefined);
  };

  out.write(`  starting: private redis-server (AOF), sandbox, webhook receiver and ${workers} workers (seed ${seed})\n`);
  const fleet = await startFleet({
    label: 'chaos',
    redis: { mode: 'private', appendOnly: true },
    sandbox: chaosSandboxOptions(seed, secrets),
    workers,
    env: chaosWorkerEnv({ lockMs, resolveTimeoutMs }),
    ...(catalogPath === null ? {} : { catalogPath }),
    // Every line is scanned as it arrives; the fleet keeps only a few for error messages.
    keepLines: 200,
    onLine: (proc, line) => {
      scanner.scan(proc.name, line);
      collector.read(proc.name, line);
      logFile?.write(`[${proc.name}] ${line}\n`);
    },
  }).catch(async (error: unknown) => {
    await closeLogFile();
    throw error;
  });
  const monkey = new ChaosMonkey({
    target: fleet,
    baseFaults,
    burstFaults: withRateLimitBurst(baseFaults, options.burstProbability ?? 0.9),
    killEveryMs,
    ...(options.maxKills === undefined ? {} : { maxKills: options.maxKills }),
    burstEveryMs,
    burstMs,
    redisDownMs,
    random: seededRandom(streamSeed(seed, 'chaos-monkey')),
    onEvent: (message) => out.write(`  ${message}\n`),
  });

  let closed = false;
  try {
    out.write(`  running: key prefix ${fleet.prefix}, sandbox at ${fleet.sandbox.url}\n`);
    const initialBalance = fleet.sandbox.balance();
    const startedAtMs = Date.now();
    monkey.start();

    const restartAfter = Math.max(1, Math.ceil(orders * restartAt));
    let redisRestart: Promise<void> | undefined;
    let enqueued = 0;
    const enqueuedAtMs = new Map<string, number>();
    for (let i = 0; i < batch.intents.length; i += ENQUEUE_BATCH) {
      checkAborted();
      const slice = batch.intents.slice(i, i + ENQUEUE_BATCH);
      const roundStartMs = Date.now();
      const report = await enqueueSamples(fleet.queues, slice);
      enqueued += report.jobs;
      for (const [mid, atMs] of report.enqueuedAtMs) if (!enqueuedAtMs.has(mid)) enqueuedAtMs.set(mid, atMs);
      if (redisRestart === undefined && enqueued >= restartAfter) redisRestart = monkey.restartRedis();
      // An interrupt only cuts the pause short: the next round's checkAborted() reports it.
      await sleep(Math.max(0, (slice.length * 1000) / perSecond - (Date.now() - roundStartMs)), undefined, { signal }).catch(() => undefined);
    }
    checkAborted();
    out.write(`  enqueued ${enqueued} intents for ${expected.length} merchant_order_ids\n`);

    let lastLineAtMs = 0;
    const onProgress = (p: ResultProgress): void => {
      if (p.done < p.expected && p.elapsedMs - lastLineAtMs < PROGRESS_GAP_MS) return;
      lastLineAtMs = p.elapsedMs;
      out.write(`  progress: ${p.done}/${p.expected} results after ${formatSeconds(Date.now() - startedAtMs)}\n`);
    };
    let waitFailure: string | null = null;
    try {
      await fleet.waitForResults(expected.length, { timeoutMs, onProgress, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (!(error instanceof FleetError)) throw error;
      checkAborted();
      waitFailure = error.message;
    }
    await redisRestart;
    const actions = await monkey.stop();
    const durationMs = Date.now() - startedAtMs;
    const sandboxOrders = await settledOrders(fleet, signal);
    const observed = await observe(fleet);

    closed = true;
    const closeFailure = await fleet.close().then(
      () => null,
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
    const linesWritten = new Map(fleet.processes().map((proc) => [proc.name, proc.lineCount]));
    const stats = fleet.sandbox.stats();
    const run: ChaosObservations = {
      seed,
      workers,
      intents: batch.intents.length,
      expected,
      mustReject,
      enqueuedAtMs,
      ...observed,
      sandboxOrders,
      stats,
      balance: { initial: initialBalance, final: fleet.sandbox.balance() },
      actions: { ...actions, failures: [...actions.failures, ...runFailures, ...(closeFailure === null ? [] : [closeFailure])] },
      facts: collector.facts(),
      leaks: scanner.leaks(sandboxOrders.flatMap((o) => o.codes)),
      droppedLeaks: scanner.droppedLeaks(),
      linesScanned: scanner.lineCounts(),
      linesWritten,
      waitFailure,
      durationMs,
      plan: { killEveryMs, burstEveryMs, burstMs, redisDownMs, lockMs, resolveTimeoutMs, catalog: catalogPath !== null },
    };
    const summary = summarizeChaos(run);
    out.write(`${renderChaosReport(summary)}\n`);
    if (options.logFile !== undefined) out.write(`  every log line is in ${options.logFile}\n`);
    if (!summary.ok) err.write(`chaos failed: ${summary.problems.length} problem(s), listed above\n`);
    return summary;
  } finally {
    await monkey.stop();
    if (!closed) await fleet.close();
    await closeLogFile();
  }
}

/** What is read from Redis before the fleet closes (closing deletes the run's keys). */
async function observe(fleet: Fleet): Promise<{
  results: Map<string, OrderResult>;
  resolutions: Map<string, OrderResult>;
  resultJobs: number;
  failedIntentJobs: FailedIntentJob[];
  recoveredIntentJobs: number;
  crashed: string[];
}> {
  const results = await fleet.readResults();
  const resolutions = await fleet.readResolutions();
  const resultJobs = await fleet.resultCount();
  const intentQueues = fleet.queues.partitions.map((p) => p.intents);
  const failed = (await Promise.all(intentQueues.map((queue) => queue.getJobs(['failed'])))).flat() as Job[];
  const intentJobs = (await Promise.all(intentQueues.map((queue) => queue.getJobs(['completed', 'failed', 'active', 'delayed', 'waiting'])))).flat() as Job[];
  return {
    results,
    resolutions,
    resultJobs,
    failedIntentJobs: failed.map((job) => ({ id: job.id ?? '?', reason: job.failedReason })),
    recoveredIntentJobs: intentJobs.filter((job) => job.stalledCounter > 0).length,
    crashed: fleet.crashed().map((proc) => proc.name),
  };
}

/**
 * The sandbox's orders once every one has settled (a result may come from a webhook a moment
 * before the lookup view agrees), or as they are after {@link SETTLE_WAIT_MS}.
 */
async function settledOrders(fleet: Fleet, signal: AbortSignal | undefined): Promise<SandboxOrderRecord[]> {
  const timeout = AbortSignal.timeout(SETTLE_WAIT_MS);
  const enough = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
  for (;;) {
    const orders = fleet.sandbox.orders();
    const pending = orders.some((o) => o.status === 'pending' || o.status === 'processing');
    if (!pending || enough.aborted) return orders;
    await sleep(100, undefined, { signal: enough }).catch(() => undefined);
  }
}
