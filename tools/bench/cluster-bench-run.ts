import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, JobType } from 'bullmq';
import { Redis } from 'ioredis';
import { sampleCatalogPath } from '../../src/catalog/catalog-file.js';
import type { OrderResult } from '../../src/lifecycle/order-state.js';
import { enqueueOrders } from '../../src/queue/enqueue-order.js';
import { checkResults } from '../checks/result-check.js';
import { perSecond, formatSeconds, tallyByStatus } from '../figures/run-figures.js';
import { FleetError } from '../fleet/fleet-error.js';
import { startFleet, type Fleet } from '../fleet/fleet.js';
import { hasRedisClusterTools, type PrivateRedisCluster } from '../fleet/private-redis-cluster.js';
import { balancedClusterPrefix } from './balanced-prefix.js';
import { benchIntents } from './bench-intents.js';
import { benchModeSetup, benchSandboxOptions } from './bench-modes.js';
import { clusterRedisUsage, renderClusterBenchMarkdown, type ClusterBenchReport, type ClusterKill, type ClusterNodeReading } from './cluster-report.js';
import { machineInfo } from './machine-info.js';
import { readRedisSnapshot, readRedisVersion, type RedisSnapshot } from './redis-stats.js';

/** Options of {@link runClusterBench}. */
export interface ClusterBenchOptions {
  /** Intents to enqueue. Default 5000. */
  orders?: number;
  /** QUEUE_PARTITIONS. Default 6 (two per primary of the 3-primary cluster). */
  partitions?: number;
  /** WORKER_CONCURRENCY of every worker. Default 64. */
  concurrency?: number;
  /** Worker processes. Default 2. */
  workers?: number;
  /** Intents per addBulk. Default 1000. */
  batchSize?: number;
  /** Longest the run may take to produce every result, in ms. Default 300000. */
  timeoutMs?: number;
  /** Seed of the sandbox's outcomes. Default 1. */
  seed?: number;
  /** SIGKILL the primary serving the most partitions once half the results are in. Default false. */
  killPrimary?: boolean;
  /** Where cluster-<orders>[-kill].json and .md go. */
  outDir: string;
  /** The product's built CLI; default dist/cli.js of this package. */
  cliPath?: string;
  /** Aborting stops the run (everything is closed) with a FleetError. */
  signal?: AbortSignal;
  /** Receives progress lines. */
  onProgress?: (line: string) => void;
}

/** What {@link runClusterBench} produced. */
export interface ClusterBenchRun {
  report: ClusterBenchReport;
  markdown: string;
  paths: { json: string; markdown: string };
}

const PRIMARIES = 3;
const REPLICAS_PER_PRIMARY = 1;
const RESULT_STATES: JobType[] = ['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children'];
const UNFINISHED_INTENT_STATES: JobType[] = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'];
const POLL_MS = 200;
const PROGRESS_GAP_MS = 2_000;
/** How long intent jobs may take to finish after the last result, in ms. */
const DRAIN_TIMEOUT_MS = 10_000;
const MAX_PROBLEMS = 20;

function wholeNumber(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new FleetError(`${name} must be a whole number >= ${min} (got ${value})`);
  return value;
}

/** One admin connection per node, to read its own INFO (a Cluster client would route, not read one node). */
function nodeConnection(host: string, port: number): Redis {
  const redis = new Redis({ host, port, maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
  // The killed primary's connection errors on purpose; a read that fails is reported as such.
  redis.on('error', () => undefined);
  return redis;
}

/** The result count, or null while the cluster is failing over (a read to the dead primary fails). */
async function resultCountOrNull(fleet: Fleet): Promise<number | null> {
  try {
    return await fleet.resultCount();
  } catch {
    return null;
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, 'utf8');
  await rename(tmp, path);
}

/**
 * `npm run bench -- --cluster`: the webhook mode on a private local Redis Cluster (3 primaries + 3
 * replicas) with `partitions` partitions; reads every node's counters around the run, optionally
 * kills the busiest primary half-way, checks every result against the sandbox, and writes
 * `cluster-<orders>[-kill].{json,md}`. Always stops the fleet and the cluster.
 */
export async function runClusterBench(options: ClusterBenchOptions): Promise<ClusterBenchRun> {
  const orders = wholeNumber('orders', options.orders ?? 5_000, 1);
  const partitions = wholeNumber('partitions', options.partitions ?? 6, 1);
  const concurrency = wholeNumber('concurrency', options.concurrency ?? 64, 1);
  const workers = wholeNumber('workers', options.workers ?? 2, 1);
  const batchSize = wholeNumber('batchSize', options.batchSize ?? 1_000, 1);
  const timeoutMs = wholeNumber('timeoutMs', options.timeoutMs ?? 300_000, 1_000);
  const seed = wholeNumber('seed', options.seed ?? 1, 0);
  const kill = options.killPrimary ?? false;
  const progress = options.onProgress ?? (() => undefined);
  if (!hasRedisClusterTools()) {
    throw new FleetError('bench --cluster needs redis-server and redis-cli on PATH (it starts a private cluster): apt-get install redis-server');
  }
  const catalogPath = sampleCatalogPath();
  const date = new Date().toISOString();
  const setup = benchModeSetup('webhook', concurrency);
  progress(`bench: starting a private Redis Cluster (${PRIMARIES} primaries + ${PRIMARIES * REPLICAS_PER_PRIMARY} replicas) and a fleet with QUEUE_PARTITIONS=${partitions}`);
  const fleet = await startFleet({
    cluster: { primaries: PRIMARIES, replicasPerPrimary: REPLICAS_PER_PRIMARY },
    partitions,
    // Partitions spread evenly over the primaries, as a production cluster would place them.
    prefix: balancedClusterPrefix('bench-cluster', partitions, PRIMARIES, () => randomBytes(4).toString('hex')),
    workers,
    webhook: true,
    sandbox: benchSandboxOptions(setup, seed),
    env: setup.env,
    ...(existsSync(catalogPath) ? { catalogPath } : {}),
    ...(options.cliPath === undefined ? {} : { cliPath: options.cliPath }),
  });
  const cluster = fleet.redisCluster;
  const connections = new Map<number, Redis>();
  try {
    if (cluster === null) throw new FleetError('the fleet did not start a Redis Cluster');
    for (const node of cluster.nodes) connections.set(node.port, nodeConnection(node.host, node.port));
    const primaryPorts = new Set(await cluster.primaryPorts());
    const servedBy = await Promise.all(fleet.queues.partitions.map((q) => cluster.primaryPortOf(q.partition.keys.order('x'))));
    const partitionsOf = (port: number): number => servedBy.filter((p) => p === port).length;
    const anyNode = connections.values().next().value;
    const machine = machineInfo(anyNode === undefined ? 'unknown' : await readRedisVersion(anyNode));

    const intents = benchIntents(orders, 'bench-cluster');
    const before = new Map<number, RedisSnapshot>();
    for (const [port, redis] of connections) before.set(port, await readRedisSnapshot(redis));
    const firstEnqueueAtMs = Date.now();
    for (let start = 0; start < intents.length; start += batchSize) {
      await enqueueOrders(fleet.queues, intents.slice(start, start + batchSize));
    }
    progress(`bench: ${orders} intents enqueued over ${partitions} partitions in ${formatSeconds(Date.now() - firstEnqueueAtMs)}`);

    const { failure, killed } = await waitForResults(fleet, cluster, { orders, timeoutMs, kill, servedBy, progress, signal: options.signal });
    if (failure === null) await waitForIntentsDrained(fleet, progress);

    const readings: ClusterNodeReading[] = [];
    for (const node of cluster.nodes) {
      const was = before.get(node.port);
      const redis = connections.get(node.port);
      if (was === undefined || redis === undefined) continue;
      let after: RedisSnapshot | null = null;
      if (node.alive) after = await readRedisSnapshot(redis).catch(() => null);
      const role = primaryPorts.has(node.port) ? 'primary' : 'replica';
      readings.push({ port: node.port, role, partitions: role === 'primary' ? partitionsOf(node.port) : 0, before: was, after });
    }

    const jobs = (await Promise.all(fleet.queues.partitions.map((p) => p.results.getJobs(RESULT_STATES)))).flat() as Job<OrderResult>[];
    const isResolution = (job: Job<OrderResult>): boolean => job.data.resolves !== undefined && job.data.resolves !== null;
    const results = new Map(jobs.filter((job) => !isResolution(job)).map((job) => [job.data.merchant_order_id, job.data]));
    const resolutions = new Map(jobs.filter(isResolution).map((job) => [job.data.merchant_order_id, job.data]));
    let lastResultAtMs = firstEnqueueAtMs;
    for (const job of jobs) if (!isResolution(job)) lastResultAtMs = Math.max(lastResultAtMs, job.timestamp);
    const durationMs = Math.max(1, lastResultAtMs - firstEnqueueAtMs);
    const sandboxOrders = fleet.sandbox.orders();
    const { problems } = checkResults({ expected: intents.map((i) => i.merchant_order_id), results, sandboxOrders, resolutions, resultJobs: jobs.length });
    if (failure !== null) problems.unshift(failure);

    const report: ClusterBenchReport = {
      date,
      machine,
      settings: { orders, partitions, primaries: PRIMARIES, replicasPerPrimary: REPLICAS_PER_PRIMARY, concurrency, workers, batchSize, seed, killPrimary: kill },
      env: setup.env,
      orders: intents.length,
      results: results.size,
      byStatus: tallyByStatus(results.values()),
      durationMs,
      ordersPerSecond: perSecond(results.size, durationMs, 1),
      placedOrders: sandboxOrders.length,
      redis: clusterRedisUsage(readings, intents.length),
      kill: killed,
      correctness: { ok: problems.length === 0, problemCount: problems.length, problems: problems.slice(0, MAX_PROBLEMS) },
      ok: problems.length === 0 && (!kill || killed !== null),
    };
    const markdown = renderClusterBenchMarkdown(report);
    await mkdir(options.outDir, { recursive: true });
    const base = join(options.outDir, `cluster-${orders}${kill ? '-kill' : ''}`);
    const paths = { json: `${base}.json`, markdown: `${base}.md` };
    await writeAtomically(paths.json, `${JSON.stringify(report, null, 2)}\n`);
    await writeAtomically(paths.markdown, markdown);
    return { report, markdown, paths };
  } finally {
    await Promise.all([...connections.values()].map((redis) => redis.quit().catch(() => redis.disconnect())));
    await fleet.close();
  }
}

interface WaitOptions {
  orders: number;
  timeoutMs: number;
  kill: boolean;
  /** Port of the primary serving each partition at the start. */
  servedBy: readonly number[];
  progress: (line: string) => void;
  signal: AbortSignal | undefined;
}

/** The port serving the most partitions (the first such, for a tie). */
function busiestPrimary(servedBy: readonly number[]): { port: number; partitions: number } | null {
  const counts = new Map<number, number>();
  for (const port of servedBy) counts.set(port, (counts.get(port) ?? 0) + 1);
  let best: { port: number; partitions: number } | null = null;
  for (const [port, partitions] of counts) if (best === null || partitions > best.partitions) best = { port, partitions };
  return best;
}

/**
 * Wait until every result is in, killing the busiest primary once half are (with `kill`). Returns
 * why it gave up (timeout, a crashed process, a failed failover), or null, and the kill.
 */
async function waitForResults(fleet: Fleet, cluster: PrivateRedisCluster, o: WaitOptions): Promise<{ failure: string | null; killed: ClusterKill | null }> {
  const start = Date.now();
  let lastProgressAt = start;
  let killed: ClusterKill | null = null;
  let done = 0;
  for (;;) {
    if (o.signal?.aborted) throw new FleetError('the bench was interrupted');
    done = (await resultCountOrNull(fleet)) ?? done;
    // Checked before the end, so a run whose results all came in between two reads still has its kill.
    if (o.kill && killed === null && done >= o.orders / 2) {
      const victim = busiestPrimary(o.servedBy);
      if (victim === null) return { failure: 'no primary serves a partition', killed };
      o.progress(`bench: ${done}/${o.orders} results: SIGKILL the primary on port ${victim.port} (${victim.partitions} partitions)`);
      try {
        const failover = await cluster.killPrimary({ port: victim.port });
        killed = { killedPort: failover.killedPort, promotedPort: failover.promotedPort, partitions: victim.partitions, atResults: done, failoverMs: failover.durationMs };
        o.progress(`bench: replica on port ${failover.promotedPort} took over after ${failover.durationMs} ms`);
        // The documented procedure for a known defect (README: "a worker can stop fetching after a
        // failover"): replace the worker processes; what they held is re-run, which the ledger makes safe.
        const old = fleet.processes().filter((p) => p.role === 'worker' && p.running);
        await Promise.all(old.map(() => fleet.startWorker()));
        await Promise.all(old.map((p) => p.stop('SIGTERM', 10_000)));
        o.progress(`bench: replaced the ${old.length} worker processes after the failover`);
      } catch (err) {
        return { failure: `the failover did not complete: ${err instanceof Error ? err.message : String(err)}`, killed };
      }
    }
    if (done >= o.orders) return { failure: null, killed };
    const now = Date.now();
    if (now - lastProgressAt >= PROGRESS_GAP_MS) {
      lastProgressAt = now;
      o.progress(`  cluster: ${done}/${o.orders} results after ${formatSeconds(now - start)}`);
    }
    const dead = fleet.crashed();
    if (dead.length > 0) return { failure: `${dead.map((p) => p.name).join(', ')} exited unexpectedly with ${done} of ${o.orders} results in`, killed };
    if (now - start >= o.timeoutMs) return { failure: `only ${done} of ${o.orders} results after ${o.timeoutMs} ms`, killed };
    await sleep(POLL_MS);
  }
}

/** Wait (bounded) until no intent job is unfinished in any partition, so the counters hold every order's whole cost. */
async function waitForIntentsDrained(fleet: Fleet, progress: (line: string) => void): Promise<void> {
  const deadline = AbortSignal.timeout(DRAIN_TIMEOUT_MS);
  for (;;) {
    const left = (await Promise.all(fleet.queues.partitions.map((p) => p.intents.getJobCountByTypes(...UNFINISHED_INTENT_STATES)))).reduce((a, n) => a + n, 0);
    if (left === 0) return;
    if (deadline.aborted) {
      progress(`  cluster: ${left} intent jobs still unfinished ${DRAIN_TIMEOUT_MS} ms after the last result; measuring anyway`);
      return;
    }
    await sleep(20);
  }
}
