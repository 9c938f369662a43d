import { Counter, Histogram, Registry } from 'prom-client';
import type { ApiCallReport } from '../api/voodoo-client.js';
import type { FundsLimit, OrderResult, ResultSource, ResultStatus } from '../lifecycle/order-state.js';

/** Counters and histograms of the order pipeline in one process (a Registry per process, no global one). */
export interface PipelineMetrics {
  readonly registry: Registry;
  /** An API request finished (retries each count). */
  apiCall(report: ApiCallReport): void;
  /**
   * A result was just added to order-results by this process. `enqueuedAtMs`: its intent job's
   * timestamp (null when unknown); `emittedAtMs`: now.
   */
  result(result: OrderResult, enqueuedAtMs: number | null, emittedAtMs: number): void;
  /** A resolution of an `unresolved` result was added to order-results by this process. */
  resolution(status: ResultStatus, source: ResultSource): void;
  fundsShort(limit: FundsLimit): void;
  rateLimited(): void;
  fatalAuth(): void;
  stuck(): void;
  priceAboveMax(): void;
}

/** How long a result took, in seconds, for the two latency histograms. */
export interface ResultLatencies {
  /** From the intent's enqueue to the emission of its result; null when the enqueue time is unknown. */
  enqueueToResult: number | null;
  /**
   * From the order's terminal time (the API's `completed_at` when present, else when this system
   * decided the result) to the emission. Clocks of the API and this host may differ: never below 0.
   */
  settleToResult: number;
}

/** The latencies of one emitted result. Pure. */
export function resultLatencies(result: OrderResult, enqueuedAtMs: number | null, emittedAtMs: number): ResultLatencies {
  const completed = result.completed_at === null ? Number.NaN : Date.parse(result.completed_at);
  const settledAtMs = Number.isFinite(completed) ? completed : Date.parse(result.resolved_at);
  const seconds = (fromMs: number): number => Math.max(0, emittedAtMs - fromMs) / 1000;
  return {
    enqueueToResult: enqueuedAtMs === null ? null : seconds(enqueuedAtMs),
    settleToResult: Number.isFinite(settledAtMs) ? seconds(settledAtMs) : 0,
  };
}

const RESULT_SOURCES: readonly ResultSource[] = ['poll', 'webhook', 'worker'];

/** Buckets of one API request, in seconds (HTTP_TIMEOUT_MS caps it at 25 s). */
const API_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25];
/** Buckets of enqueue → result, in seconds: a fast order takes under a second, a funds wait up to an hour, an unresolved one hours. */
const ENQUEUE_SECONDS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 14400];
/** Buckets of settle → result, in seconds: a webhook takes milliseconds, a poll up to POLL_MAX_DELAY_MS. */
const SETTLE_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];

/** Register the pipeline's counters and histograms on `registry` (a fresh one when omitted, in tests). */
export function createPipelineMetrics(registry: Registry = new Registry()): PipelineMetrics {
  const registers = [registry];
  const apiCalls = new Counter({
    name: 'voodoo_api_calls_total',
    help: 'Requests sent to the Voodoo Center API, by endpoint',
    labelNames: ['endpoint'] as const,
    registers,
  });
  const apiDuration = new Histogram({
    name: 'voodoo_api_request_duration_seconds',
    help: 'Duration of one request to the Voodoo Center API, by endpoint and outcome (ok = a 2xx answer)',
    labelNames: ['endpoint', 'outcome'] as const,
    buckets: API_SECONDS,
    registers,
  });
  const apiErrors = new Counter({
    name: 'voodoo_api_errors_total',
    help: 'Requests to the Voodoo Center API that failed or answered non-2xx, by endpoint and error code',
    labelNames: ['endpoint', 'code'] as const,
    registers,
  });
  const results = new Counter({
    name: 'voodoo_results_total',
    help: 'Results added to order-results by this process (counted when emitted), by status and by who learned the outcome',
    labelNames: ['status', 'source'] as const,
    registers,
  });
  // The alerted series exists from the start: increase() needs a sample before the first unresolved result.
  for (const source of RESULT_SOURCES) results.inc({ status: 'unresolved', source }, 0);
  const enqueueToResult = new Histogram({
    name: 'voodoo_enqueue_to_result_seconds',
    help: 'From an intent job being enqueued to its result being emitted, by result status',
    labelNames: ['status'] as const,
    buckets: ENQUEUE_SECONDS,
    registers,
  });
  const settleToResult = new Histogram({
    name: 'voodoo_settle_to_result_seconds',
    help: "From an order's terminal time (the API's completed_at, else when the result was decided) to its result being emitted, by status",
    labelNames: ['status'] as const,
    buckets: SETTLE_SECONDS,
    registers,
  });
  const resolutions = new Counter({
    name: 'voodoo_resolutions_total',
    help: 'Resolutions of unresolved results added to order-results by this process, by status and source (webhook: it arrived late; poll: an operator resolved it)',
    labelNames: ['status', 'source'] as const,
    registers: [registry],
  });
  const fundsShort = new Counter({
    name: 'voodoo_funds_short_total',
    help: 'Times an order started waiting because the balance (limit="balance") or SPEND_LIMIT (limit="spend_limit") could not cover it',
    labelNames: ['limit'] as const,
    registers,
  });
  const rateLimited = new Counter({
    name: 'voodoo_rate_limited_total',
    help: 'Times the API answered 429 and the fleet backed off',
    registers,
  });
  const fatalAuth = new Counter({
    name: 'voodoo_fatal_auth_total',
    help: 'Times the API key was refused (invalid or not enabled) and the fleet paused',
    registers,
  });
  const stuck = new Counter({
    name: 'voodoo_orders_stuck_total',
    help: 'Placed orders flagged as stuck: no terminal status after ORDER_STUCK_AFTER_MS (each flagged once)',
    registers,
  });
  const priceAboveMax = new Counter({
    name: 'voodoo_price_above_max_total',
    help: 'Results whose charged price exceeded the intent max_price (a stale catalog)',
    registers,
  });
  return {
    registry,
    apiCall({ endpoint, seconds, errorCode }) {
      apiCalls.inc({ endpoint });
      apiDuration.observe({ endpoint, outcome: errorCode === null ? 'ok' : 'error' }, seconds);
      if (errorCode !== null) apiErrors.inc({ endpoint, code: errorCode });
    },
    result(result, enqueuedAtMs, emittedAtMs) {
      const { status } = result;
      results.inc({ status, source: result.source });
      const latencies = resultLatencies(result, enqueuedAtMs, emittedAtMs);
      if (latencies.enqueueToResult !== null) enqueueToResult.observe({ status }, latencies.enqueueToResult);
      settleToResult.observe({ status }, latencies.settleToResult);
    },
    resolution: (status, source) => resolutions.inc({ status, source }),
    fundsShort: (limit) => fundsShort.inc({ limit }),
    rateLimited: () => rateLimited.inc(),
    fatalAuth: () => fatalAuth.inc(),
    stuck: () => stuck.inc(),
    priceAboveMax: () => priceAboveMax.inc(),
  };
}
