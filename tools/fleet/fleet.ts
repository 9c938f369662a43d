import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Job, JobType, Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { FleetError } from './fleet-error.js';
import type { OrderResult } from '../../src/lifecycle/order-state.js';
import { createLogger } from '../../src/logging/logger.js';
import { connectRedisCluster, type RedisClient } from '../../src/redis/connect.js';
import { openFleetQueues, type FleetQueues } from '../../src/queue/partition-queues.js';
import { defaultSandboxCatalog, startSandbox, type StartSandboxParams } from '../../src/sandbox/sandbox-server.js';
import type { LocalSandbox, SandboxOptions } from '../../src/sandbox/sandbox-types.js';
import { spawnFleetProcess, type FleetProcess, type FleetRole } from './fleet-process.js';
import { deletePrefixKeys, resolveFleetRedis, type FleetRedisOptions } from './fleet-redis.js';
import { freePort, type PrivateRedis } from './private-redis.js';
import { startPrivateRedisCluster, type PrivateRedisCluster, type PrivateRedisClusterOptions } from './private-redis-cluster.js';

export type { FleetProcess, FleetRole } from './fleet-process.js';

/** Sandbox options of a fleet: everything `startSandbox` takes, with the webhook target filled in by the fleet. */
export interface FleetSandboxOptions extends Omit<Partial<StartSandboxParams>, 'webhook'> {
  /**
   * Webhook delivery settings. `url` defaults to the fleet's receiver and `secret` to a fresh random
   * one (the receiver gets the same). With `webhook: false` and without `url`, no webhooks are sent.
   */
  webhook?: Partial<NonNullable<SandboxOptions['webhook']>>;
}

/** Options of {@link startFleet}. */
export interface FleetOptions {
  /** Where Redis comes from (see {@link FleetRedisOptions}). Default: a private redis-server. */
  redis?: FleetRedisOptions;
  /**
   * Run on a private local Redis Cluster (3 primaries + 3 replicas by default, or these options)
   * instead: every process gets REDIS_CLUSTER_NODES, `redis` is ignored. Default: no cluster.
   */
  cluster?: boolean | PrivateRedisClusterOptions;
  /** Key prefix of this run (QUEUE_PREFIX); a fresh `${label}-<random>` when omitted. */
  prefix?: string;
  /** Label of the generated prefix. Default `fleet`. */
  label?: string;
  /**
   * QUEUE_PARTITIONS of every process and of the fleet's own queues. Default: the
   * FLEET_QUEUE_PARTITIONS environment variable of this process, else 1.
   */
  partitions?: number;
  /**
   * Sandbox options. The API key defaults to a fresh random one, the catalog to the sample items and
   * the starting balance to 1 000 000 (a fleet is for volume, not for running out of funds).
   */
  sandbox?: FleetSandboxOptions;
  /**
   * The fleet's webhook receiver. `true` (default): start one, and the sandbox sends its webhooks
   * to it. `'later'`: the sandbox sends them to the receiver's address, but none runs until
   * `startWebhook()` (tests start it themselves). `false`: the sandbox sends no webhooks.
   */
  webhook?: boolean | 'later';
  /** Worker processes to start with the fleet. Default 2; 0 leaves every start to `startWorker()`. */
  workers?: number;
  /** Extra configuration variables for every child process (e.g. WORKER_CONCURRENCY, POLL_*). */
  env?: Record<string, string>;
  /** CATALOG_PATH for the workers (local validation and cost reservation); none when omitted. */
  catalogPath?: string;
  /** Recent log lines kept per process. Default 2000; `Infinity` keeps every line, whole. */
  keepLines?: number;
  /** How long a process may take to say it is ready, in ms. Default 20000. */
  readyTimeoutMs?: number;
  /** How long a stopping process may take before it is SIGKILLed, in ms. Default 10000. */
  stopTimeoutMs?: number;
  /** Called with every line any child process writes. */
  onLine?: (process: FleetProcess, line: string) => void;
  /** The built CLI entry. Default: dist/cli.js of this package. */
  cliPath?: string;
  /** Node options of every worker and receiver process, before the entry (e.g. `--cpu-prof`). Default none. */
  nodeArgs?: readonly string[];
}

/** Progress of {@link Fleet.waitForResults}. */
export interface ResultProgress {
  /** Result jobs in `order-results` so far. */
  done: number;
  /** How many the wait is for. */
  expected: number;
  /** Time since the wait started, in ms. */
  elapsedMs: number;
}

/** Options of {@link Fleet.waitForResults}. */
export interface WaitForResultsOptions {
  /** Give up after this long, in ms. Default 120000. */
  timeoutMs?: number;
  /** How often the result count is read, in ms. Default 200. */
  intervalMs?: number;
  /** Called after every count. */
  onProgress?: (progress: ResultProgress) => void;
  /** Fail at once when a child process exits without the fleet having stopped it. Default true. */
  failOnCrash?: boolean;
  /** Stop waiting (with a FleetError) when this aborts. */
  signal?: AbortSignal;
}

/** A running fleet: Redis, the sandbox in process, a webhook receiver and workers as child processes. */
export interface Fleet {
  readonly prefix: string;
  /** The Redis the fleet runs on (credentials included: do not print it). */
  readonly redisUrl: string;
  /** The private redis-server, or null when an existing Redis was reused (chaos runs restart it) or on a cluster. */
  readonly redisServer: PrivateRedis | null;
  /** The private Redis Cluster of a fleet started with `cluster`, else null (tests kill its primaries). */
  readonly redisCluster: PrivateRedisCluster | null;
  /** The fleet's own connection (queues and admin reads): a Cluster on a cluster. */
  readonly redis: RedisClient;
  readonly sandbox: LocalSandbox;
  /** QUEUE_PARTITIONS of the fleet. */
  readonly partitions: number;
  /** Every partition's queues, and the routing of an order to its partition (enqueue through it). */
  readonly queues: FleetQueues;
  /**
   * `order-intents` on the fleet's prefix. With partitions, partition 0's only: enqueue through
   * {@link queues} (or count over it), or intents land in the wrong partition.
   */
  readonly intents: Queue;
  /** `order-results` on the fleet's prefix; with partitions, partition 0's only (see {@link intents}). */
  readonly results: Queue;
  /**
   * URL of the fleet's webhook receiver endpoint, whether or not one runs. The sandbox sends its
   * webhooks there unless the fleet has `webhook: false` or the sandbox options name another `url`.
   */
  readonly webhookUrl: string;
  /** When the fleet was started, epoch ms. */
  readonly startedAtMs: number;
  /** Running worker processes, oldest first. */
  workers(): FleetProcess[];
  /** The running webhook receiver, or null. */
  webhook(): FleetProcess | null;
  /** Every process ever started, running or not. */
  processes(): FleetProcess[];
  /** Start one more worker; `extraEnv` overrides the configuration for it alone. */
  startWorker(extraEnv?: Record<string, string>): Promise<FleetProcess>;
  /** Start a webhook receiver on the fleet's webhook port (one at a time); `extraEnv` as for a worker. */
  startWebhook(extraEnv?: Record<string, string>): Promise<FleetProcess>;
  /** Stop a process on purpose (default SIGKILL: a crash); resolves with its exit code or signal. */
  kill(process: FleetProcess, signal?: NodeJS.Signals): Promise<number | string>;
  /** Stop a process on purpose, then start a new one of the same role and configuration. */
  restart(process: FleetProcess, signal?: NodeJS.Signals): Promise<FleetProcess>;
  /** Processes that exited without being stopped (by `kill`, `restart` or their own `stop()`). */
  crashed(): FleetProcess[];
  /** Number of jobs in `order-results`, resolutions included. */
  resultCount(): Promise<number>;
  /** Every result, by merchant_order_id (resolutions left out: see readResolutions). */
  readResults(): Promise<Map<string, OrderResult>>;
  /** Every resolution of an `unresolved` result (a result job with `resolves` set), by merchant_order_id. */
  readResolutions(): Promise<Map<string, OrderResult>>;
  /** Wait until `count` results exist; throws a FleetError on timeout or a crash. */
  waitForResults(count: number, options?: WaitForResultsOptions): Promise<Map<string, OrderResult>>;
  /** The kept lines of every process ever started, process by process, as written. */
  logLines(): string[];
  /** Stop every process and the sandbox, delete the prefix's keys, stop the private Redis. Idempotent. */
  close(): Promise<void>;
}

const RESULT_STATES: JobType[] = ['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children'];
/** Longest one close step may take, in ms. */
const CLEANUP_DEADLINE_MS = 10_000;

function defaultCliPath(): string {
  // The product's build, two levels above tools/fleet/: the fleet runs what ships.
  return fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
}

function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * Start a local fleet: Redis (reused or private), the sandbox in this process, a webhook receiver
 * and N workers as `node dist/cli.js` child processes, all on a fresh key prefix. The children's
 * environment is built here from scratch: they inherit nothing from this process but PATH. On a
 * failure half-way, everything started so far is closed before the error is thrown.
 */
export async function startFleet(options: FleetOptions = {}): Promise<Fleet> {
  const cleanups: Cleanup[] = [];
  try {
    return await build(options, cleanups);
  } catch (err) {
    await runCleanups(cleanups);
    throw err;
  }
}

/** One step of closing a fleet; each runs under a deadline so a dead Redis cannot hang close(). */
type Cleanup = () => Promise<unknown>;

/** Run cleanups newest first; every one runs whatever the others did. Returns the failures. */
async function runCleanups(cleanups: readonly Cleanup[]): Promise<unknown[]> {
  const failures: unknown[] = [];
  for (const cleanup of [...cleanups].reverse()) {
    await cleanup().catch((err: unknown) => failures.push(err));
  }
  return failures;
}

/** `promise`, or a FleetError once `ms` passed (the promise is left to settle on its own). */
async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const settled = new AbortController();
  const expired = sleep(ms, undefined, { signal: settled.signal }).then(() => {
    throw new FleetError(`${what} did not finish within ${ms} ms`);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    // Ends the timer; the race has already settled, so the rejection it causes goes nowhere.
    settled.abort();
  }
}

async function build(options: FleetOptions, cleanups: Cleanup[]): Promise<Fleet> {
  const startedAtMs = Date.now();
  const prefix = options.prefix ?? `${options.label ?? 'fleet'}-${randomToken(4)}`;
  const partitions = options.partitions ?? fleetPartitionsFromEnv();
  const keepLines = Math.max(1, options.keepLines ?? 2_000);
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const cliPath = options.cliPath ?? defaultCliPath();
  const receiver = options.webhook ?? true;

  const { redisUrl, server, redisCluster, redis } = await openFleetRedis(options, cleanups);
  const queues = openFleetQueues({ connection: redis, prefix, partitions, hashTags: redisCluster !== null });
  cleanups.push(async () => {
    // With Redis gone (a private server stopped by the same Ctrl-C) there is nothing to delete, and
    // commands would wait for a reconnect that never comes. A private cluster is deleted whole.
    if (redis.status !== 'ready' || redis instanceof Cluster) {
      if (redis.status === 'ready') await withDeadline(redis.quit(), CLEANUP_DEADLINE_MS, 'closing the fleet Redis connection').catch(() => undefined);
      redis.disconnect();
      return;
    }
    try {
      // With partitions, the keys live under `{prefix-<p>}` and `{prefix-global}`.
      const layout = queues.layout;
      const prefixes = [...new Set([...layout.partitions.map((p) => p.prefix), layout.global.prefix])];
      for (const areaPrefix of prefixes) {
        await withDeadline(deletePrefixKeys(redis, areaPrefix), CLEANUP_DEADLINE_MS, `deleting the keys of ${areaPrefix}`);
      }
      await withDeadline(redis.quit(), CLEANUP_DEADLINE_MS, 'closing the fleet Redis connection');
    } finally {
      redis.disconnect();
    }
  });

  const { webhook: sandboxWebhook, ...sandboxRest } = options.sandbox ?? {};
  const apiKey = sandboxRest.apiKey ?? `ak_fleet_${randomToken(16)}`;
  const webhookSecret = sandboxWebhook?.secret ?? `whsec_fleet_${randomToken(16)}`;
  const webhookPort = await freePort();
  const webhookUrl = `http://127.0.0.1:${webhookPort}/webhooks/voodoo`;
  const sendWebhooksTo = sandboxWebhook?.url ?? (receiver === false ? null : webhookUrl);
  const sandbox = await startSandbox({
    initialBalance: 1_000_000,
    ...sandboxRest,
    apiKey,
    catalog: sandboxRest.catalog ?? defaultSandboxCatalog(),
    ...(sendWebhooksTo === null ? {} : { webhook: { ...sandboxWebhook, url: sendWebhooksTo, secret: webhookSecret } }),
  });
  cleanups.push(() => withDeadline(sandbox.close(), CLEANUP_DEADLINE_MS, 'closing the sandbox'));

  const allIntents = queues.partitions.map((p) => p.intents);
  const allResults = queues.partitions.map((p) => p.results);
  const [first] = queues.partitions;
  if (first === undefined) throw new FleetError('a fleet needs at least one partition');
  // Without a listener BullMQ prints every reconnect error; they surface through failing calls instead.
  for (const queue of [...allIntents, ...allResults]) queue.on('error', () => undefined);
  cleanups.push(() => withDeadline(queues.close(), CLEANUP_DEADLINE_MS, 'closing the queues'));

  // Least privilege: the key goes to workers only, the webhook secret to the receiver only.
  // The fleet-wide env cannot move a process off the fleet's Redis or prefix (close() cleans those);
  // a single process's extraEnv can, on purpose.
  const common: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    LOG_LEVEL: 'info',
    // Several workers share this host: each takes a free port for its ops endpoints (its "worker
    // started" line says which) instead of all fighting for the default 9464.
    METRICS_PORT: '0',
    // A local fleet for demos, benchmarks and tests: its endpoints stay on loopback.
    METRICS_HOST: '127.0.0.1',
    ...options.env,
    REDIS_URL: redisUrl,
    ...(redisCluster === null ? {} : { REDIS_CLUSTER_NODES: redisCluster.seeds }),
    QUEUE_PREFIX: prefix,
    QUEUE_PARTITIONS: String(partitions),
  };
  const roleEnv = (role: FleetRole, extra: Record<string, string>): Record<string, string> =>
    role === 'worker'
      ? {
          ...common,
          VOODOO_API_URL: sandbox.url,
          VOODOO_API_KEY: apiKey,
          ...(options.catalogPath === undefined ? {} : { CATALOG_PATH: options.catalogPath }),
          ...extra,
        }
      : { ...common, VOODOO_WEBHOOK_SECRET: webhookSecret, WEBHOOK_HOST: '127.0.0.1', WEBHOOK_PORT: String(webhookPort), ...extra };

  const all: FleetProcess[] = [];
  const extraEnvOf = new Map<FleetProcess, Record<string, string>>();
  const counters: Record<FleetRole, number> = { worker: 0, webhook: 0 };
  let closing: Promise<void> | undefined;

  // Starts still waiting for their ready message: close() lets them finish so it can stop them too.
  const starting = new Set<Promise<FleetProcess>>();
  const spawnRole = async (role: FleetRole, extra: Record<string, string>): Promise<FleetProcess> => {
    if (closing) throw new FleetError('the fleet is closing');
    counters[role] += 1;
    const start = spawnFleetProcess({
      name: `${role}-${counters[role]}`,
      role,
      cliPath,
      ...(options.nodeArgs === undefined ? {} : { nodeArgs: options.nodeArgs }),
      env: roleEnv(role, extra),
      readyTimeoutMs,
      keepLines,
      ...(options.onLine === undefined ? {} : { onLine: options.onLine }),
    });
    starting.add(start);
    try {
      const proc = await start;
      all.push(proc);
      extraEnvOf.set(proc, extra);
      return proc;
    } finally {
      starting.delete(start);
    }
  };
  const kill = (proc: FleetProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<number | string> => proc.stop(signal, stopTimeoutMs);
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled([...starting]);
    await Promise.all(all.map((proc) => kill(proc, 'SIGTERM')));
  };
  cleanups.push(stopAll);

  const readResultJobs = async (resolutions: boolean): Promise<Map<string, OrderResult>> => {
    const jobs = (await Promise.all(allResults.map((queue) => queue.getJobs(RESULT_STATES)))).flat() as Job<OrderResult>[];
    // `resolves` is absent from results emitted before resolutions existed.
    const wanted = jobs.filter((job) => (job.data.resolves !== undefined && job.data.resolves !== null) === resolutions);
    return new Map(wanted.map((job) => [job.data.merchant_order_id, job.data]));
  };
  const readResults = (): Promise<Map<string, OrderResult>> => readResultJobs(false);
  const resultCount = async (): Promise<number> => (await Promise.all(allResults.map((queue) => queue.getJobCountByTypes(...RESULT_STATES)))).reduce((sum, n) => sum + n, 0);
  const crashed = (): FleetProcess[] => all.filter((proc) => !proc.running && !proc.stopRequested);

  const fleet: Fleet = {
    prefix,
    redisUrl,
    redisServer: server,
    redisCluster,
    redis,
    sandbox,
    partitions,
    queues,
    intents: first.intents,
    results: first.results,
    webhookUrl,
    startedAtMs,
    workers: () => all.filter((p) => p.role === 'worker' && p.running),
    webhook: () => all.find((p) => p.role === 'webhook' && p.running) ?? null,
    processes: () => [...all],
    startWorker: (extraEnv = {}) => spawnRole('worker', extraEnv),
    async startWebhook(extraEnv = {}) {
      if (fleet.webhook() !== null) throw new FleetError('a webhook receiver is already running on the fleet port');
      return spawnRole('webhook', extraEnv);
    },
    kill,
    async restart(proc, signal = 'SIGKILL') {
      await kill(proc, signal);
      return spawnRole(proc.role, extraEnvOf.get(proc) ?? {});
    },
    crashed,
    resultCount,
    readResults,
    readResolutions: () => readResultJobs(true),
    async waitForResults(count, waitOptions = {}) {
      const timeoutMs = waitOptions.timeoutMs ?? 120_000;
      const intervalMs = waitOptions.intervalMs ?? 200;
      const start = Date.now();
      const { signal } = waitOptions;
      for (;;) {
        if (signal?.aborted) throw new FleetError('interrupted while waiting for results');
        // A count waits through a Redis outage (chaos runs restart Redis); an abort must not.
        const done = await abortable(resultCount(), signal);
        const elapsedMs = Date.now() - start;
        waitOptions.onProgress?.({ done, expected: count, elapsedMs });
        if (done >= count) {
          // The count includes resolutions; the results alone decide.
          const read = await readResults();
          if (read.size >= count) return read;
        }
        const dead = waitOptions.failOnCrash === false ? [] : crashed();
        if (dead.length > 0) {
          const names = dead.map((p) => p.name).join(', ');
          throw new FleetError(`${names} exited unexpectedly with ${done} of ${count} results in; last lines:\n${tail(dead, 20).join('\n')}`);
        }
        if (elapsedMs >= timeoutMs) {
          throw new FleetError(`only ${done} of ${count} results after ${timeoutMs} ms; last lines:\n${tail(all, 20).join('\n')}`);
        }
        // An abort only cuts the pause short: the loop reports it.
        await sleep(Math.min(intervalMs, Math.max(1, timeoutMs - elapsedMs)), undefined, { signal }).catch(() => undefined);
      }
    },
    logLines: () => all.flatMap((proc) => proc.lines()),
    close() {
      closing ??= (async () => {
        const failures = await runCleanups(cleanups);
        if (failures.length > 0) {
          throw new FleetError(`closing the fleet failed: ${failures.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')}`);
        }
      })();
      return closing;
    },
  };

  if (receiver === true) await fleet.startWebhook();
  // Settle every start before failing, so no worker still starting escapes the cleanup.
  const started = await Promise.allSettled(Array.from({ length: options.workers ?? 2 }, () => fleet.startWorker()));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return fleet;
}

/** The fleet's connection where a tool reads one server's INFO and memory (bench, memory floor): refused on a cluster. */
export function singleRedisOf(fleet: Pick<Fleet, 'redis'>, what: string): Redis {
  if (fleet.redis instanceof Redis) return fleet.redis;
  throw new FleetError(`${what} reads one Redis server's statistics: it does not run on a Redis Cluster`);
}

/**
 * The fleet's Redis: a private cluster (`options.cluster`; REDIS_URL then names its first node, which
 * no process reads while REDIS_CLUSTER_NODES is set), else a reused or private redis-server. Its
 * stop goes on `cleanups`.
 */
async function openFleetRedis(
  options: FleetOptions,
  cleanups: Cleanup[],
): Promise<{ redisUrl: string; server: PrivateRedis | null; redisCluster: PrivateRedisCluster | null; redis: RedisClient }> {
  if (options.cluster !== undefined && options.cluster !== false) {
    const redisCluster = await startPrivateRedisCluster(options.cluster === true ? {} : options.cluster);
    cleanups.push(() => withDeadline(redisCluster.destroy(), CLEANUP_DEADLINE_MS, 'stopping the private Redis Cluster'));
    const [seed] = redisCluster.nodes;
    if (seed === undefined) throw new FleetError('the private Redis Cluster has no node');
    // Its errors surface through the commands that fail (a primary killed on purpose, a failover).
    const redis = connectRedisCluster(redisCluster.nodes, createLogger({ level: 'silent' }), 'vf-fleet');
    return { redisUrl: `redis://${seed.host}:${seed.port}`, server: null, redisCluster, redis };
  }
  const { url: redisUrl, server } = await resolveFleetRedis(options.redis);
  if (server) cleanups.push(() => withDeadline(server.destroy(), CLEANUP_DEADLINE_MS, 'stopping the private redis-server'));
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  // Errors surface through the commands that fail; chaos runs restart Redis on purpose.
  redis.on('error', () => undefined);
  return { redisUrl, server, redisCluster: null, redis };
}

/** FLEET_QUEUE_PARTITIONS of this process (tools and test runs pick a partition count with it), else 1. */
function fleetPartitionsFromEnv(): number {
  const raw = process.env.FLEET_QUEUE_PARTITIONS;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new FleetError(`FLEET_QUEUE_PARTITIONS: expected a whole number from 1 to 1024, got ${JSON.stringify(raw)}`);
  return n;
}

/** `promise`, or a FleetError as soon as `signal` aborts (the promise is left to settle on its own). */
async function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) throw new FleetError('interrupted while waiting for results');
  const settled = new AbortController();
  const aborted = once(signal, 'abort', { signal: settled.signal }).then(() => {
    throw new FleetError('interrupted while waiting for results');
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    // Drops the listener; the race has already settled, so the rejection it causes goes nowhere.
    settled.abort();
  }
}


/** The last `count` lines of each process, prefixed with its name. */
function tail(processes: readonly FleetProcess[], count: number): string[] {
  return processes.flatMap((proc) => {
    const lines = proc.lines();
    return lines.slice(Math.max(0, lines.length - count)).map((line) => `[${proc.name}] ${line}`);
  });
}
