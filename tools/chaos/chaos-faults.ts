import type { FaultConfig } from '../../src/sandbox/sandbox-types.js';
import type { FleetSandboxOptions } from '../fleet/fleet.js';
import type { InvalidCaseName } from '../samples/sample-intents.js';

/**
 * The invalid intents of a chaos run: the kinds issue 7 names (unknown item, quantity out of range,
 * missing required field), each refused by the API itself when the workers have no catalog, with a
 * detail that proves the request wrong whatever an earlier attempt did. Left out: the sold-out item
 * (after an ambiguous attempt its refusal may rightly wait for a webhook that never comes and end
 * `unresolved` with no order, which this run counts as a problem) and quantity 0 (refused by the
 * job-data check before any call, so it never meets an ambiguous attempt).
 */
export const CHAOS_INVALID_CASES: readonly InvalidCaseName[] = ['unknown-item', 'quantity-above-max', 'missing-field'];

/** Access-token lifetime the chaos sandbox issues, in ms: short, so the fleet re-exchanges all run long. */
export const CHAOS_TOKEN_TTL_MS = 3_000;

/** How long a hanging create holds its answer, in ms: well past the workers' HTTP_TIMEOUT_MS. */
export const CHAOS_HANG_MS = 2_500;

/**
 * The steady fault mix of a chaos run: every fault the worker must survive, often enough that a
 * run of a few hundred orders meets each of them several times. 429 bursts come on top of this
 * (see {@link withRateLimitBurst}). The 502, reset and hang come after a commit, so only the 503
 * (and a worker killed mid-request) can make the create of an invalid intent ambiguous: it is the
 * most frequent, for the rule "a provable rejection after an ambiguous attempt ends rejected" to
 * meet a few invalid intents in every run.
 */
export function chaosBaseFaults(): FaultConfig {
  return {
    token: { unavailable: 0.2 },
    balance: { serverError: 0.02, rateLimited: 0.01 },
    create: {
      unavailableBeforeCommit: 0.05,
      badGatewayAfterCommit: 0.03,
      resetAfterCommit: 0.03,
      hangAfterCommit: 0.02,
      rateLimited: 0.005,
    },
    lookup: { serverError: 0.05, rateLimited: 0.02, notFoundAfterCreate: 0.1, notFoundWindowMs: 300 },
    webhook: { drop: 0.03, duplicate: 0.05, delay: 0.05, delayMs: 1_000 },
    retryAfterSeconds: 1,
    hangMs: CHAOS_HANG_MS,
  };
}

/**
 * `base` with create and lookup answering 429 (with Retry-After) most of the time: what the sandbox
 * is switched to for the length of one rate-limit burst. `probability` is in 0..1.
 */
export function withRateLimitBurst(base: FaultConfig, probability: number): FaultConfig {
  return {
    ...base,
    create: { ...base.create, rateLimited: probability },
    lookup: { ...base.lookup, rateLimited: probability },
  };
}

/** Credentials of one chaos run: fresh random values, so the log scan knows exactly what to look for. */
export interface ChaosSecrets {
  /** The sandbox's `ak_` key (workers only). */
  apiKey: string;
  /** The webhook HMAC secret (sandbox and receiver only). */
  webhookSecret: string;
}

/**
 * Sandbox options of a chaos run: realistic fulfilment times and outcomes, short-lived tokens, the
 * steady fault mix, and webhook retries a second apart (instead of the API's minute) so a delivery
 * refused during the Redis restart is retried within the run.
 */
export function chaosSandboxOptions(seed: number, secrets: ChaosSecrets): FleetSandboxOptions {
  return {
    seed,
    apiKey: secrets.apiKey,
    tokenTtlMs: CHAOS_TOKEN_TTL_MS,
    fulfilment: { minMs: 100, maxMs: 1_500, outcomes: { completed: 7, partial: 2, failed: 1 } },
    faults: chaosBaseFaults(),
    webhook: { secret: secrets.webhookSecret, retries: 3, retryGapMs: 1_000, timeoutMs: 5_000 },
  };
}

/** Timing of a chaos run's workers, in ms (the production defaults scaled from hours to seconds). */
export interface ChaosWorkerTiming {
  /** BullMQ lock (and stalled-check interval): how soon a killed worker's jobs come back. */
  lockMs: number;
  /** After an ambiguous create, how long the webhook has before the order ends `unresolved`. */
  resolveTimeoutMs: number;
}

/**
 * Environment of a chaos run's child processes. HTTP_TIMEOUT_MS is shorter than the sandbox's hang,
 * so a hanging create is a client-side timeout after commit; the token is refreshed a second before
 * it expires.
 */
export function chaosWorkerEnv(timing: ChaosWorkerTiming): Record<string, string> {
  return {
    WORKER_CONCURRENCY: '32',
    WORKER_LOCK_MS: String(timing.lockMs),
    HTTP_TIMEOUT_MS: '1000',
    POLL_INITIAL_DELAY_MS: '500',
    POLL_WEBHOOK_DELAY_MS: '3000',
    POLL_MAX_DELAY_MS: '2000',
    RESOLVE_TIMEOUT_MS: String(timing.resolveTimeoutMs),
    BALANCE_CACHE_MS: '1000',
    TOKEN_REFRESH_MARGIN_MS: '1000',
    LOG_LEVEL: 'info',
  };
}
