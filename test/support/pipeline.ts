import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { OrderIntent } from '../../src/lifecycle/intent.js';
import type { OrderResult } from '../../src/lifecycle/order-state.js';
import { enqueueOrders } from '../../src/queue/enqueue-order.js';
import type { LocalSandbox, SandboxOrderRecord } from '../../src/sandbox/sandbox-types.js';
import { checkResults } from '../../tools/checks/result-check.js';
import { startFleet, type Fleet, type FleetSandboxOptions } from '../../tools/fleet/fleet.js';
import { redisUrl } from './redis.js';
import { LOG_EVENT, readEventLine } from '../../src/logging/log-events.js';

import type { FleetProcess } from '../../tools/fleet/fleet.js';

export type { FleetProcess };

export const API_KEY = 'ak_test_pipeline_key_0123456789';
export const WEBHOOK_SECRET = 'whsec_test_pipeline_secret_0123456789';
/** The sample catalog snapshot (same items as the sandbox's default catalog), for CATALOG_PATH. */
export const SAMPLE_CATALOG_PATH = fileURLToPath(new URL('../../catalog/sample-catalog.lmdb.zst', import.meta.url));

/** Configuration of every process on the tests' timescale (a test's `env` overrides it). */
const TEST_ENV: Record<string, string> = {
  WORKER_CONCURRENCY: '16',
  POLL_INITIAL_DELAY_MS: '100',
  POLL_WEBHOOK_DELAY_MS: '2000',
  POLL_MAX_DELAY_MS: '1000',
  RESOLVE_TIMEOUT_MS: '5000',
  HTTP_TIMEOUT_MS: '2000',
  BALANCE_CACHE_MS: '200',
  // At the production cap (30 s) one order that draws several faults in a row can outlast a test's
  // deadline; the backoff's shape is unit-tested on its own.
  RETRY_BASE_DELAY_MS: '200',
  RETRY_MAX_DELAY_MS: '3000',
  LOG_LEVEL: 'info',
};

/** Options of {@link startPipeline}. */
export interface PipelineOptions {
  /** Sandbox options (API key, webhook secret, quick fulfilment and webhook retries are filled in). */
  sandbox?: FleetSandboxOptions;
  /** Point the sandbox's webhooks at the receiver (which the test starts with `startWebhook()`). Default true. */
  webhook?: boolean;
  /** Extra configuration for every process. */
  env?: Record<string, string>;
  /** Redis URL; the shared test Redis by default. */
  redisUrl?: string;
  /** QUEUE_PARTITIONS of the fleet and its processes. Default 1 (or FLEET_QUEUE_PARTITIONS). */
  partitions?: number;
  /** Run on a private local Redis Cluster (3 primaries + 3 replicas) instead of `redisUrl`. Default false. */
  cluster?: boolean;
}

/**
 * A fleet for one test (see tools/fleet/fleet.ts): the sandbox in process, queues on a fresh
 * prefix, workers and receiver as real processes that the test starts, every log line kept whole.
 */
export interface Pipeline extends Omit<Fleet, 'waitForResults'> {
  /** Wait until `count` results exist; fails at once when a process dies without being stopped. */
  waitForResults(count: number, timeoutMs?: number): Promise<Map<string, OrderResult>>;
  /** Add intents, one round trip per partition (via enqueueOrders). */
  enqueue(intents: readonly OrderIntent[]): Promise<void>;
  /** The raw ledger hash of one merchant_order_id (empty when none). */
  ledgerRecord(merchantOrderId: string): Promise<Record<string, string>>;
}

/** Start a fleet with no processes yet, on the test Redis (or `redisUrl`) and a fresh `e2e-` prefix. */
export async function startPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  const fleet = await startFleet({
    ...(options.cluster === true ? { cluster: true } : { redis: { url: options.redisUrl ?? redisUrl(), mode: 'url' as const } }),
    label: 'e2e',
    ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
    workers: 0,
    webhook: options.webhook === false ? false : 'later',
    sandbox: {
      apiKey: API_KEY,
      fulfilment: { minMs: 20, maxMs: 80 },
      ...options.sandbox,
      webhook: { secret: WEBHOOK_SECRET, retryGapMs: 200, ...options.sandbox?.webhook },
    },
    env: { ...TEST_ENV, ...options.env },
    keepLines: Number.POSITIVE_INFINITY,
    readyTimeoutMs: 30_000,
  });
  return {
    ...fleet,
    waitForResults: (count, timeoutMs = 30_000) => fleet.waitForResults(count, { timeoutMs }),
    async enqueue(intents) {
      await enqueueOrders(fleet.queues, intents);
    },
    ledgerRecord: (merchantOrderId) => fleet.redis.hgetall(fleet.queues.layout.forOrder(merchantOrderId).keys.order(merchantOrderId)),
  };
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
 * The result checker's core over the whole run: every id in `expected` has exactly one result job,
 * no result exists for any other id, the sandbox holds at most one order (one charge) per id and
 * none that no result accounts for, and each result is the sandbox's order. Returns the problems
 * found (empty = all good).
 */
export async function exactlyOnce(pipeline: Pipeline, expected: readonly string[]): Promise<string[]> {
  const results = await pipeline.readResults();
  const resultJobs = await pipeline.resultCount();
  return checkResults({ expected, results, resultJobs, sandboxOrders: pipeline.sandbox.orders() }).problems;
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

/**
 * The base URL of a worker's ops endpoints (/healthz, /readyz, /metrics), from its "worker started"
 * line. The line comes over stdout, the readiness signal over IPC: on a busy machine the signal can
 * arrive first, so this waits for the line (up to `timeoutMs`).
 */
export async function opsUrlOf(worker: FleetProcess, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const line of worker.lines()) {
      const event = readEventLine(line);
      const url = event?.fields.ops_url;
      if (event?.event === LOG_EVENT.workerStarted && typeof url === 'string') return url;
    }
    if (Date.now() > deadline) throw new Error(`the worker never said where its ops endpoints are (${timeoutMs} ms)`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
