import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Queue, type Job, type JobType } from 'bullmq';
import type { Redis } from 'ioredis';
import type { OrderIntent } from '../../src/lifecycle/intent.js';
import type { OrderResult } from '../../src/lifecycle/order-state.js';
import { spawnFleetProcess, type FleetRole } from '../../tools/fleet/fleet-process.js';
import { freePort } from '../../tools/fleet/private-redis.js';
import { checkResults } from '../../tools/checks/result-check.js';
import { enqueueOrders } from '../../src/queue/enqueue-order.js';
import { INTENTS_QUEUE, RESULTS_QUEUE } from '../../src/queue/queue-names.js';
import { projectKeys } from '../../src/redis/keys.js';
import { startSandbox, defaultSandboxCatalog } from '../../src/sandbox/sandbox-server.js';
import type { LocalSandbox, SandboxOptions, SandboxOrderRecord } from '../../src/sandbox/sandbox-types.js';
import { connectRedis, deleteKeys, redisUrl, uniquePrefix } from './redis.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export const API_KEY = 'ak_test_pipeline_key_0123456789';
export const WEBHOOK_SECRET = 'whsec_test_pipeline_secret_0123456789';
/** The sample catalog snapshot (same items as the sandbox's default catalog), for CATALOG_PATH. */
export const SAMPLE_CATALOG_PATH = fileURLToPath(new URL('../../catalog/sample-catalog.lmdb.zst', import.meta.url));

/** A child process of the pipeline (worker or webhook receiver) with its captured output. */
export interface PipelineProcess {
  readonly child: ChildProcess;
  /** Every line it wrote to stdout or stderr so far. */
  readonly lines: string[];
  /** Resolves with the exit code (or signal) once it exited. */
  readonly exited: Promise<number | string>;
  /** Send a signal and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Options of {@link startPipeline}. */
export interface PipelineOptions {
  /** Sandbox options (apiKey and catalog are filled in). */
  sandbox?: Partial<SandboxOptions>;
  /** Start a webhook receiver process and point the sandbox's webhooks at it. Default true. */
  webhook?: boolean;
  /** Extra environment for every process (config variables). */
  env?: Record<string, string>;
  /** Redis URL; the shared test Redis by default. */
  redisUrl?: string;
}

/** A whole pipeline for one test: sandbox in process, workers and receiver as real processes. */
export interface Pipeline {
  readonly prefix: string;
  readonly sandbox: LocalSandbox;
  readonly redis: Redis;
  readonly intents: Queue;
  readonly results: Queue;
  readonly processes: PipelineProcess[];
  /** Environment the processes get. */
  readonly env: Record<string, string>;
  startWorker(extraEnv?: Record<string, string>): Promise<PipelineProcess>;
  startWebhook(): Promise<PipelineProcess>;
  /** Wait until `count` result jobs exist (or throw after `timeoutMs`, listing what is missing). */
  waitForResults(count: number, timeoutMs?: number): Promise<Map<string, OrderResult>>;
  /** Every result, by merchant_order_id. */
  readResults(): Promise<Map<string, OrderResult>>;
  /** How many result jobs exist per merchant_order_id (a correct pipeline has exactly one each). */
  resultCounts(): Promise<Map<string, number>>;
  /** Add intents in one round trip (via enqueueOrders). */
  enqueue(intents: readonly OrderIntent[]): Promise<void>;
  /** The raw ledger hash of one merchant_order_id (empty when none). */
  ledgerRecord(merchantOrderId: string): Promise<Record<string, string>>;
  /** URL of the webhook receiver's endpoint (whether or not a receiver runs). */
  readonly webhookUrl: string;
  /** Every log line of every process. */
  logLines(): string[];
  close(): Promise<void>;
}

/** Every state a result job can be in while a consumer may or may not have taken it. */
const RESULT_STATES: JobType[] = ['waiting', 'active', 'completed', 'failed', 'delayed'];

function webhookUrlOf(port: number): string {
  return `http://127.0.0.1:${port}/webhooks/voodoo`;
}

/** How long a worker or receiver may take to say it is ready, in ms. */
const READY_TIMEOUT_MS = 30_000;

let processCount = 0;

async function spawnCli(role: FleetRole, env: Record<string, string>): Promise<PipelineProcess> {
  // Every line is kept (onLine sees them whole): the tests scan all of them, for secrets among others.
  const lines: string[] = [];
  processCount += 1;
  const proc = await spawnFleetProcess({
    name: `${role}-${processCount}`,
    role,
    cliPath: CLI,
    env: { PATH: process.env.PATH ?? '', ...env },
    readyTimeoutMs: READY_TIMEOUT_MS,
    keepLines: 1,
    onLine: (_proc, line) => lines.push(line),
  });
  return { child: proc.child, lines, exited: proc.exited, stop: (signal = 'SIGTERM') => proc.stop(signal) };
}

/** Start a sandbox, and queues on a fresh prefix; processes are started by the test. */
export async function startPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  const prefix = uniquePrefix('e2e');
  const url = options.redisUrl ?? redisUrl();
  const withWebhook = options.webhook ?? true;
  const webhookPort = await freePort();
  const sandbox = await startSandbox({
    apiKey: API_KEY,
    catalog: defaultSandboxCatalog(),
    initialBalance: 1_000_000,
    fulfilment: { minMs: 20, maxMs: 80 },
    ...options.sandbox,
    ...(withWebhook
      ? { webhook: { url: webhookUrlOf(webhookPort), secret: WEBHOOK_SECRET, retryGapMs: 200, ...options.sandbox?.webhook } }
      : {}),
  });
  const redis = connectRedis(url);
  const intents = new Queue(INTENTS_QUEUE, { connection: redis, prefix });
  const results = new Queue(RESULTS_QUEUE, { connection: redis, prefix });
  // A test may restart Redis on purpose: the test's own connection reconnects, quietly.
  const ignore = (): void => {};
  redis.on('error', ignore);
  intents.on('error', ignore);
  results.on('error', ignore);
  const env: Record<string, string> = {
    REDIS_URL: url,
    QUEUE_PREFIX: prefix,
    VOODOO_API_URL: sandbox.url,
    VOODOO_API_KEY: API_KEY,
    VOODOO_WEBHOOK_SECRET: WEBHOOK_SECRET,
    WEBHOOK_PORT: String(webhookPort),
    WEBHOOK_HOST: '127.0.0.1',
    WORKER_CONCURRENCY: '16',
    POLL_INITIAL_DELAY_MS: '100',
    POLL_WEBHOOK_DELAY_MS: '2000',
    POLL_MAX_DELAY_MS: '1000',
    RESOLVE_TIMEOUT_MS: '5000',
    HTTP_TIMEOUT_MS: '2000',
    BALANCE_CACHE_MS: '200',
    // Test timescale: at the production cap (30 s) one order that draws several faults in a row
    // can outlast a test's deadline; the backoff's shape is unit-tested on its own.
    RETRY_BASE_DELAY_MS: '200',
    RETRY_MAX_DELAY_MS: '3000',
    LOG_LEVEL: 'info',
    ...options.env,
  };
  const processes: PipelineProcess[] = [];

  const readResults = async (): Promise<Map<string, OrderResult>> => {
    const jobs = (await results.getJobs(RESULT_STATES)) as Job<OrderResult>[];
    return new Map(jobs.map((job) => [job.data.merchant_order_id, job.data]));
  };
  const webhookUrl = webhookUrlOf(webhookPort);

  const pipeline: Pipeline = {
    prefix,
    sandbox,
    redis,
    intents,
    results,
    processes,
    env,
    async startWorker(extraEnv = {}) {
      const proc = await spawnCli('worker', { ...env, ...extraEnv });
      processes.push(proc);
      return proc;
    },
    async startWebhook() {
      const proc = await spawnCli('webhook', env);
      processes.push(proc);
      return proc;
    },
    readResults,
    webhookUrl,
    async resultCounts() {
      const jobs = (await results.getJobs(RESULT_STATES)) as Job<OrderResult>[];
      const counts = new Map<string, number>();
      for (const job of jobs) counts.set(job.data.merchant_order_id, (counts.get(job.data.merchant_order_id) ?? 0) + 1);
      return counts;
    },
    async enqueue(list) {
      await enqueueOrders(intents, list);
    },
    async ledgerRecord(merchantOrderId) {
      return redis.hgetall(projectKeys(prefix).order(merchantOrderId));
    },
    async waitForResults(count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const total = await results.getJobCountByTypes(...RESULT_STATES);
        if (total >= count) return readResults();
        if (Date.now() > deadline) {
          throw new Error(`only ${total} of ${count} results after ${timeoutMs} ms; last log lines:\n${pipeline.logLines().slice(-20).join('\n')}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    logLines: () => processes.flatMap((p) => p.lines),
    async close() {
      await Promise.all(processes.map((p) => p.stop('SIGTERM')));
      await intents.close();
      await results.close();
      await sandbox.close();
      await deleteKeys(redis, prefix);
      await redis.quit();
    },
  };
  return pipeline;
}

/** `count` valid intents for the sample catalog's key item 4090, ids `${label}-0..`. */
export function keyIntents(label: string, count: number, quantity = 1): { merchant_order_id: string; item_id: number; quantity: number }[] {
  return Array.from({ length: count }, (_, i) => ({ merchant_order_id: `${label}-${i}`, item_id: 4090, quantity }));
}

/**
 * Compare every result with the sandbox's own record; returns a list of mismatches (empty = all good).
 * Sandbox orders of merchant_order_ids without a result are not looked at (exactlyOnce covers them);
 * more than one sandbox order behind a result is a mismatch.
 */
export function mismatches(results: Map<string, OrderResult>, sandbox: LocalSandbox): string[] {
  const behindResults = sandbox.orders().filter((o) => o.merchantOrderId !== null && results.has(o.merchantOrderId));
  return checkResults({ expected: [...results.keys()], results, sandboxOrders: behindResults }).problems;
}

/**
 * Check "exactly one result per merchant_order_id" against both sides: every id in `expected` has
 * exactly one result job, no result exists for any other id, and the sandbox holds at most one
 * order (one charge) per id. Returns the problems found (empty = all good).
 */
export async function exactlyOnce(pipeline: Pipeline, expected: readonly string[]): Promise<string[]> {
  const problems: string[] = [];
  const counts = await pipeline.resultCounts();
  const wanted = new Set(expected);
  for (const mid of expected) {
    const n = counts.get(mid) ?? 0;
    if (n !== 1) problems.push(`${mid}: ${n} results`);
  }
  for (const mid of counts.keys()) {
    if (!wanted.has(mid)) problems.push(`${mid}: a result for an id nobody enqueued`);
  }
  const orders = new Map<string, number>();
  for (const order of pipeline.sandbox.orders()) {
    if (order.merchantOrderId !== null) orders.set(order.merchantOrderId, (orders.get(order.merchantOrderId) ?? 0) + 1);
  }
  for (const [mid, n] of orders) {
    if (n > 1) problems.push(`${mid}: ${n} sandbox orders (charged ${n} times)`);
  }
  return problems;
}

/** Sandbox orders per merchant_order_id. */
export function sandboxOrdersOf(sandbox: LocalSandbox, merchantOrderId: string): SandboxOrderRecord[] {
  return sandbox.orders().filter((o) => o.merchantOrderId === merchantOrderId);
}

/**
 * POST raw bytes to a webhook URL as the API would, on a fresh connection that is closed after the
 * answer (nothing left open for the leak check). `signature` null sends no signature header.
 * Resolves with the HTTP status.
 */
export function postWebhook(url: string, body: string, signature: string | null): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    };
    if (signature !== null) headers['x-webhook-signature'] = signature;
    const req = request(url, { method: 'POST', agent: false, headers }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(body);
  });
}
