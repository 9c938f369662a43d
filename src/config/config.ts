import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../errors/errors.js';
import { LOG_LEVELS } from '../logging/log-levels.js';
import type { SpendLimit } from '../balance/balance-gate.js';
import type { LifecyclePolicy } from '../lifecycle/order-state.js';
import type { OrderLedgerOptions } from '../ledger/order-ledger.js';
import { parseWorkerPartitions } from './worker-partitions.js';
import { parseRedisClusterNodes } from './redis-cluster-nodes.js';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number({ error: 'expected a whole number' }).int('expected a whole number').min(min, `expected at least ${min}`).max(max, `expected at most ${max}`);

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** The parsed URL, or null when `value` is no URL (zod runs refinements after a failed check too). */
function parseUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

const url = (protocols: string[]) =>
  z
    .string()
    .url('expected a URL')
    .refine((v) => {
      const protocol = parseUrl(v)?.protocol;
      return protocol === undefined || protocols.includes(protocol);
    }, `expected a ${protocols.join(' or ')} URL`)
    // `redis://` parses, and its clients then quietly connect to localhost:6379 (maybe someone else's Redis).
    .refine((v) => parseUrl(v)?.hostname !== '', `expected a host, e.g. ${protocols[0]}//host:port`);

const clusterNodes = z.string().transform((value, ctx) => {
  const parsed = parseRedisClusterNodes(value);
  if ('nodes' in parsed) return parsed.nodes;
  ctx.issues.push({ code: 'custom', message: parsed.problem, input: value });
  return z.NEVER;
});

/** A PEM CA bundle file, read once here (at startup); unreadable or holding no certificate is a config error. */
const pemFile = z
  .string()
  .min(1)
  .transform((path, ctx) => {
    let pem: string;
    try {
      pem = readFileSync(path, 'utf8');
    } catch (err) {
      ctx.issues.push({ code: 'custom', message: `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, input: path });
      return z.NEVER;
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      ctx.issues.push({ code: 'custom', message: `expected a PEM CA bundle (-----BEGIN CERTIFICATE-----) in ${path}`, input: path });
      return z.NEVER;
    }
    return { path, pem };
  });

const TOMBSTONE_TTL_DEFAULT_SECONDS = 30 * 24 * 60 * 60;
const UNMATCHED_EVENT_TTL_DEFAULT_SECONDS = 3 * 24 * 60 * 60;

/**
 * Every environment variable the processes read, with its default. The README's config table
 * mirrors this object; keep them in step.
 */
const schema = z.object({
  /** Redis connection URL. */
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  /**
   * Seed nodes of a Redis Cluster, `host:port,host:port,…`, to use instead of REDIS_URL. Set, every
   * process connects to the cluster and keys are always hash-tagged (src/redis/partitions.ts).
   */
  REDIS_CLUSTER_NODES: clusterNodes.optional(),
  /** ACL user name sent to every cluster node (AUTH); unset: the default user. */
  REDIS_CLUSTER_USERNAME: z.string().min(1).max(256).optional(),
  /** Password sent to every cluster node (AUTH); unset: none. Never logged. */
  REDIS_CLUSTER_PASSWORD: z.string().min(1).max(512).optional(),
  /** Connect to every cluster node over TLS (the nodes' `tls-port`, with `tls-cluster yes`). */
  REDIS_CLUSTER_TLS: bool.default(false),
  /**
   * PEM CA bundle that signed the cluster nodes' certificates, read once at startup; unset: Node's
   * built-in public CAs. Only with REDIS_CLUSTER_TLS.
   */
  REDIS_CLUSTER_TLS_CA_FILE: pemFile.optional(),
  /**
   * Replicas that must acknowledge an order's attempt record before its create is sent (Redis WAIT),
   * so a failover cannot lose it; used only while the primary has replicas connected. 0: never wait.
   */
  REDIS_WAIT_REPLICAS: int(0, 16).default(1),
  /** Longest wait for those acknowledgements, in ms; past it the create is not sent and is retried later. */
  REDIS_WAIT_TIMEOUT_MS: int(10, 10_000).default(1_000),
  /** BullMQ key prefix; also prefixes this project's own Redis keys. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1-64 letters, digits, dot, dash or underscore')
    .default('bull'),
  /**
   * Number of queue partitions (1-1024). 1 keeps today's single-queue key layout; K > 1 splits the
   * queues and per-order keys into K hash-tagged areas (src/redis/partitions.ts).
   */
  QUEUE_PARTITIONS: int(1, 1024).default(1),
  /**
   * The partitions this worker process consumes, e.g. `0-3` or `0,2,5` (each below QUEUE_PARTITIONS);
   * every partition when unset. Only workers read it.
   */
  WORKER_PARTITIONS: z
    .string()
    .transform((value, ctx) => {
      try {
        return parseWorkerPartitions(value);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : 'invalid' });
        return z.NEVER;
      }
    })
    .optional(),
  /** Base URL of the Voodoo Center API (the part before /api/v1). */
  VOODOO_API_URL: url(['https:', 'http:']).default('https://api.voodoo.center'),
  /** The long-lived `ak_` API key. Required by the worker. */
  VOODOO_API_KEY: z
    .string()
    .regex(/^ak_\S+$/, 'expected an API key starting with ak_')
    .optional(),
  /** HMAC secret for webhook signatures. Required by the webhook receiver. */
  VOODOO_WEBHOOK_SECRET: z.string().min(8, 'expected at least 8 characters').optional(),
  /** Port of the webhook receiver. */
  WEBHOOK_PORT: int(0, 65535).default(8080),
  /** Interface the webhook receiver binds to. */
  WEBHOOK_HOST: z.string().min(1).default('0.0.0.0'),
  /** Largest accepted webhook body, in bytes. */
  WEBHOOK_BODY_LIMIT_BYTES: int(1024, 10 * 1024 * 1024).default(256 * 1024),
  /** Most connections the webhook receiver holds open at once; more are closed on accept (the API redelivers). */
  WEBHOOK_MAX_CONNECTIONS: int(1, 100_000).default(256),
  /** Port of the read-only queue dashboard (`voodoo-fulfillment dashboard`). */
  DASHBOARD_PORT: int(0, 65535).default(3000),
  /** Interface the dashboard binds to. It has no login of its own: loopback unless a proxy guards it. */
  DASHBOARD_HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * Port of a worker's ops endpoints (GET /healthz, /readyz, /metrics); 0 picks a free one (the
   * "worker started" line says which). Several workers on one host each need their own (or 0).
   */
  METRICS_PORT: int(0, 65535).default(9464),
  /** Interface a worker's ops endpoints bind to. */
  METRICS_HOST: z.string().min(1).default('0.0.0.0'),
  /** Jobs one worker process runs at once. */
  WORKER_CONCURRENCY: int(1, 1000).default(32),
  /** Delay before the first status poll, in ms (when no webhook receiver is alive). */
  POLL_INITIAL_DELAY_MS: int(10).default(1_000),
  /** Delay before the first status poll while a webhook receiver is alive, in ms. */
  POLL_WEBHOOK_DELAY_MS: int(10).default(30_000),
  /** Longest delay between two polls, in ms. */
  POLL_MAX_DELAY_MS: int(10).default(60_000),
  /**
   * How long an unknown outcome may stay unknown, in ms. When an attempt may have landed (an
   * ambiguous answer, or a worker that died mid-request) and the order id is not known, creates are
   * retried until this long after the first such attempt, and the order ends `unresolved` this long
   * after the latest one unless its webhook came. A placed order (id known) is never given up: see
   * ORDER_STUCK_AFTER_MS. Formerly POLL_TIMEOUT_MS, still read as a deprecated alias.
   */
  RESOLVE_TIMEOUT_MS: int(1_000).default(2 * 60 * 60 * 1000),
  /**
   * How long a placed order may go without a terminal status before it is flagged as stuck (one
   * warning, a metric, `status` says so), in ms. It is still polled: the order exists and is charged.
   */
  ORDER_STUCK_AFTER_MS: int(1_000).default(60 * 60 * 1000),
  /**
   * The most the fleet may charge within SPEND_WINDOW_MS, in major currency units; unset = no limit.
   * Intents that would pass it wait as for funds. Needs CATALOG_PATH (the cost must be known before sending).
   */
  SPEND_LIMIT: z.coerce.number({ error: 'expected a number' }).positive('expected a positive amount').finite('expected a positive amount').optional(),
  /** Length of the sliding window SPEND_LIMIT applies to, in ms. */
  SPEND_WINDOW_MS: int(1_000, 31 * 24 * 60 * 60 * 1000).default(60 * 60 * 1000),
  /**
   * BullMQ job lock of a worker, in ms (renewed while the job runs). A killed worker's jobs are
   * taken over about this long after it died; stalled jobs are looked for at the same interval.
   */
  WORKER_LOCK_MS: int(1_000, 600_000).default(30_000),
  /** Hard timeout of one API request, in ms. Kept under WORKER_LOCK_MS. */
  HTTP_TIMEOUT_MS: int(100, 25_000).default(10_000),
  /** First delay before retrying a failed or ambiguous API call, in ms; it doubles per consecutive failure of the same order (a success resets it). */
  RETRY_BASE_DELAY_MS: int(10).default(500),
  /** Cap of the doubling delay between two retries of the same order, before ±25 % jitter, in ms. */
  RETRY_MAX_DELAY_MS: int(10).default(30_000),
  /** How long the fleet pauses after the API key was refused (401/403 on the exchange) before trying again, in ms. */
  AUTH_FAILURE_PAUSE_MS: int(100).default(30_000),
  /** How long a fleet-wide balance reading stays fresh, in ms. */
  BALANCE_CACHE_MS: int(0).default(2_000),
  /** How long an intent may wait for funds (balance or SPEND_LIMIT) before it ends `rejected` (insufficient_balance or spend_limit_reached), in ms. */
  BALANCE_WAIT_MAX_MS: int(0).default(60 * 60 * 1000),
  /** Re-exchange the token this long before its expiry, in ms. */
  TOKEN_REFRESH_MARGIN_MS: int(0).default(5 * 60 * 1000),
  /** Lifetime assumed for an access token without an `exp` claim, in ms (the API says 2 h). */
  TOKEN_TTL_MS: int(1_000).default(2 * 60 * 60 * 1000),
  /** Catalog snapshot (`catalog.lmdb.zst`); enables price checks and local validation. */
  CATALOG_PATH: z.string().min(1).optional(),
  /** How long finished results and ledger records are kept, in seconds. */
  RETENTION_SECONDS: int(60).default(7 * 24 * 60 * 60),
  /**
   * How long a finished merchant_order_id's tombstone is kept, in seconds: within it a duplicate
   * intent gets no second result. At least RETENTION_SECONDS (unset: raised to it when that is longer).
   */
  TOMBSTONE_TTL_SECONDS: int(60).default(TOMBSTONE_TTL_DEFAULT_SECONDS),
  /**
   * How long a webhook event with no intent (or no merchant_order_id) is kept, in seconds. At most
   * RETENTION_SECONDS, so delivered codes never outlive results (unset: lowered to it when that is shorter).
   */
  UNMATCHED_EVENT_TTL_SECONDS: int(60).default(UNMATCHED_EVENT_TTL_DEFAULT_SECONDS),
  /** pino level. */
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** Human-readable logs (development only). */
  LOG_PRETTY: bool.default(false),
});

/** The validated, frozen configuration every process is built from. */
export type Config = Readonly<z.output<typeof schema>>;

/** Names of every variable the schema knows, for the README and error messages. */
export const CONFIG_VARIABLES = Object.keys(schema.shape) as (keyof Config)[];

/**
 * Old names of renamed variables → their current name. An old name is read when the current one is
 * unset (with a {@link ConfigWarning}); setting both is an error.
 */
export const DEPRECATED_VARIABLES: Readonly<Record<string, keyof Config>> = {
  POLL_TIMEOUT_MS: 'RESOLVE_TIMEOUT_MS',
};

/** Something in the environment that works but should change (a deprecated name). */
export interface ConfigWarning {
  /** The variable as set. */
  variable: string;
  /** The name to use instead. */
  replacement: keyof Config;
  message: string;
}

/**
 * Parse `env` once into a frozen `Config`. Empty strings count as unset. Throws `ConfigError`
 * naming the first bad variable; tells `onWarning` about each deprecated name in use (a process
 * logs them once at startup).
 */
export function loadConfig(
  env: NodeJS.ProcessEnv | Record<string, string | undefined>,
  onWarning: (warning: ConfigWarning) => void = () => undefined,
): Config {
  const input: Record<string, string> = {};
  for (const key of CONFIG_VARIABLES) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  /** Current name → the deprecated name its value came from. */
  const aliased = new Map<string, string>();
  const warnings: ConfigWarning[] = [];
  for (const [old, current] of Object.entries(DEPRECATED_VARIABLES)) {
    const value = env[old];
    if (value === undefined || value === '') continue;
    if (input[current] !== undefined) throw new ConfigError(old, `deprecated name of ${current}, which is set too: remove ${old}`);
    input[current] = value;
    aliased.set(current, old);
    warnings.push({ variable: old, replacement: current, message: `${old} is deprecated: it is read as ${current}, rename it` });
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = String(issue?.path[0] ?? 'config');
    throw new ConfigError(aliased.get(path) ?? path, issue?.message ?? 'invalid');
  }
  if (parsed.data.POLL_INITIAL_DELAY_MS > parsed.data.POLL_MAX_DELAY_MS) {
    throw new ConfigError('POLL_INITIAL_DELAY_MS', 'expected at most POLL_MAX_DELAY_MS');
  }
  if (parsed.data.RETRY_BASE_DELAY_MS > parsed.data.RETRY_MAX_DELAY_MS) {
    throw new ConfigError('RETRY_BASE_DELAY_MS', 'expected at most RETRY_MAX_DELAY_MS');
  }
  const outside = parsed.data.WORKER_PARTITIONS?.find((p) => p >= parsed.data.QUEUE_PARTITIONS);
  if (outside !== undefined) {
    throw new ConfigError('WORKER_PARTITIONS', `partition ${outside} does not exist: expected indexes below QUEUE_PARTITIONS (${parsed.data.QUEUE_PARTITIONS})`);
  }
  if (parsed.data.HTTP_TIMEOUT_MS >= parsed.data.WORKER_LOCK_MS) {
    throw new ConfigError('HTTP_TIMEOUT_MS', 'expected less than WORKER_LOCK_MS');
  }
  if (parsed.data.REDIS_CLUSTER_NODES === undefined) {
    for (const name of ['REDIS_CLUSTER_USERNAME', 'REDIS_CLUSTER_PASSWORD'] as const) {
      if (parsed.data[name] !== undefined) throw new ConfigError(name, 'only read with REDIS_CLUSTER_NODES: put the credentials of a single Redis in REDIS_URL');
    }
    if (parsed.data.REDIS_CLUSTER_TLS) throw new ConfigError('REDIS_CLUSTER_TLS', 'only read with REDIS_CLUSTER_NODES: a single Redis takes TLS from a rediss:// REDIS_URL');
  }
  if (parsed.data.REDIS_CLUSTER_TLS_CA_FILE !== undefined && !parsed.data.REDIS_CLUSTER_TLS) {
    throw new ConfigError('REDIS_CLUSTER_TLS_CA_FILE', 'only read with REDIS_CLUSTER_TLS=true');
  }
  for (const warning of warnings) onWarning(warning);
  return Object.freeze(boundRetention(parsed.data, input));
}

/**
 * Tombstones must outlive the records (an id whose record expired first could get a second result);
 * unmatched events must not outlive them (they may hold delivered codes). A default that breaks
 * either rule follows RETENTION_SECONDS instead; a value set that way is an error.
 */
function boundRetention(config: z.output<typeof schema>, input: Record<string, string>): z.output<typeof schema> {
  const retention = config.RETENTION_SECONDS;
  const bounded = { ...config };
  if (config.TOMBSTONE_TTL_SECONDS < retention) {
    if (input.TOMBSTONE_TTL_SECONDS !== undefined) {
      throw new ConfigError('TOMBSTONE_TTL_SECONDS', `expected at least RETENTION_SECONDS (${retention}): a finished id whose tombstone expired before its record could get a second result`);
    }
    bounded.TOMBSTONE_TTL_SECONDS = retention;
  }
  if (config.UNMATCHED_EVENT_TTL_SECONDS > retention) {
    if (input.UNMATCHED_EVENT_TTL_SECONDS !== undefined) {
      throw new ConfigError('UNMATCHED_EVENT_TTL_SECONDS', `expected at most RETENTION_SECONDS (${retention}): unmatched events may hold delivered codes, which are kept no longer than results`);
    }
    bounded.UNMATCHED_EVENT_TTL_SECONDS = retention;
  }
  return bounded;
}

/**
 * What only a worker needs of the config beyond its schema: SPEND_LIMIT needs CATALOG_PATH, since
 * without a catalog an order's cost is unknown before it is placed and the limit could not hold.
 * (The webhook receiver keeps the spend window's books whatever its own config says.)
 */
export function checkWorkerConfig(config: Config): void {
  if (config.SPEND_LIMIT !== undefined && config.CATALOG_PATH === undefined) {
    throw new ConfigError('SPEND_LIMIT', 'needs CATALOG_PATH: without a catalog an order’s cost is unknown before it is placed, so the limit could not hold');
  }
}

/** Return `config[variable]`, or throw a `ConfigError` saying this process needs it. */
export function requireSetting<K extends keyof Config>(config: Config, variable: K): NonNullable<Config[K]> {
  const value = config[variable];
  if (value === undefined || value === null) {
    throw new ConfigError(variable, 'is required by this process');
  }
  return value;
}

/**
 * The limits and timings of the order lifecycle, in ms. Workers and the webhook receiver both decide
 * with them, so both must build them here, the same way.
 */
export function lifecyclePolicy(config: Config): LifecyclePolicy {
  return {
    balanceWaitMaxMs: config.BALANCE_WAIT_MAX_MS,
    resolveTimeoutMs: config.RESOLVE_TIMEOUT_MS,
    pollInitialDelayMs: config.POLL_INITIAL_DELAY_MS,
    pollWebhookDelayMs: config.POLL_WEBHOOK_DELAY_MS,
    handOff: config.REDIS_CLUSTER_NODES === undefined,
    pollMaxDelayMs: config.POLL_MAX_DELAY_MS,
    retryBaseDelayMs: config.RETRY_BASE_DELAY_MS,
    retryMaxDelayMs: config.RETRY_MAX_DELAY_MS,
    authFailurePauseMs: config.AUTH_FAILURE_PAUSE_MS,
    orderStuckAfterMs: config.ORDER_STUCK_AFTER_MS,
  };
}

/** How long the order ledger keeps what it stores, in seconds (OrderLedger's options). */
export function ledgerRetention(config: Config): Pick<OrderLedgerOptions, 'retentionSeconds' | 'tombstoneTtlSeconds' | 'unmatchedEventTtlSeconds'> {
  return {
    retentionSeconds: config.RETENTION_SECONDS,
    tombstoneTtlSeconds: config.TOMBSTONE_TTL_SECONDS,
    unmatchedEventTtlSeconds: config.UNMATCHED_EVENT_TTL_SECONDS,
  };
}

/** The fleet's spend limit as the balance gate takes it (an empty object when SPEND_LIMIT is unset). */
export function spendLimit(config: Config): { spendLimit?: SpendLimit } {
  return config.SPEND_LIMIT === undefined ? {} : { spendLimit: { limit: config.SPEND_LIMIT, windowMs: config.SPEND_WINDOW_MS } };
}
