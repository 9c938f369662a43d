import type { FaultConfig } from '../../src/sandbox/sandbox-types.js';
import type { FleetSandboxOptions } from '../fleet/fleet.js';
import { benchModeSetup, benchSandboxOptions } from './bench-modes.js';
import type { OpenLoopFaults, OpenLoopFulfilment } from './open-loop-options.js';

/** HTTP_TIMEOUT_MS of the workers under faults, in ms: a hanging create becomes a client-side timeout after commit. */
export const FAULTS_HTTP_TIMEOUT_MS = 2_000;
/** How long a hanging create holds its answer under faults, in ms: well past {@link FAULTS_HTTP_TIMEOUT_MS}. */
export const FAULTS_HANG_MS = 5_000;
/**
 * RESOLVE_TIMEOUT_MS of the workers under faults, in ms: an ambiguous create whose webhook was
 * dropped ends `unresolved` after this (production waits 2 h, which no bench can wait out).
 */
export const FAULTS_RESOLVE_TIMEOUT_MS = 10_000;
/** Gap between the sandbox's webhook deliveries under faults, in ms (the API's is a minute). */
export const FAULTS_WEBHOOK_RETRY_GAP_MS = 1_000;
/** How long after the arrivals stop a sustained rate's results (all but 1 %) may come, in ms, without faults. */
export const DRAIN_LIMIT_MS = 2_000;
/** How much the median enqueue → result − fulfilment may grow over a sustained rate's window, in ms, without faults. */
export const GROWTH_LIMIT_MS = 100;
/** The same under faults, in ms: a 429's Retry-After (1 s) pauses a worker's intake, so the medians jump by hundreds of ms either way. */
export const FAULTS_GROWTH_LIMIT_MS = 1_000;

/**
 * The `--faults default` mix: the probabilities the README documents for the sandbox's `--faults`
 * (every endpoint's faults at 1–10 %), with the hang shortened to {@link FAULTS_HANG_MS} so a run of
 * seconds sees its effect. The sandbox itself injects nothing unless told.
 */
export function defaultFaultMix(): FaultConfig {
  return {
    token: { unavailable: 0.05 },
    balance: { rateLimited: 0.01, serverError: 0.01 },
    create: { unavailableBeforeCommit: 0.02, badGatewayAfterCommit: 0.02, resetAfterCommit: 0.02, hangAfterCommit: 0.01, rateLimited: 0.02 },
    lookup: { serverError: 0.02, rateLimited: 0.02, notFoundAfterCreate: 0.1, notFoundWindowMs: 200 },
    webhook: { drop: 0.02, duplicate: 0.05, delay: 0.05, delayMs: 1_000 },
    retryAfterSeconds: 1,
    hangMs: FAULTS_HANG_MS,
  };
}

/** How an open-loop run sets up each rate's fleet. */
export interface OpenLoopSetup {
  /** Worker configuration set by the bench; everything else keeps its production default. */
  env: Record<string, string>;
  sandbox: FleetSandboxOptions;
  /** Sandbox fulfilment time range, in ms. */
  fulfilmentMs: { min: number; max: number };
  /** See {@link ArrivalWindow.drainLimitMs}, in ms. */
  drainLimitMs: number;
  /** See {@link ArrivalWindow.growthLimitMs}, in ms. */
  growthLimitMs: number;
  /** Why the settings are what they are, for the report. */
  notes: string[];
}

/**
 * The webhook mode of the burst bench (receiver + workers, same worker settings), or its realistic
 * mode for realistic fulfilment; with `--faults default`, the {@link defaultFaultMix} and worker
 * timeouts short enough for the faulted orders to finish within the run.
 */
export function openLoopSetup(fulfilment: OpenLoopFulfilment, faults: OpenLoopFaults, concurrency: number, seed: number): OpenLoopSetup {
  const mode = benchModeSetup(fulfilment === 'instant' ? 'webhook' : 'realistic', concurrency);
  const sandbox = benchSandboxOptions(mode, seed);
  const fulfilmentMs = { min: mode.fulfilment.minMs, max: mode.fulfilment.maxMs };
  if (faults === 'none') return { env: mode.env, sandbox, fulfilmentMs, drainLimitMs: DRAIN_LIMIT_MS, growthLimitMs: GROWTH_LIMIT_MS, notes: [...mode.notes, 'no faults'] };
  return {
    env: { ...mode.env, HTTP_TIMEOUT_MS: String(FAULTS_HTTP_TIMEOUT_MS), RESOLVE_TIMEOUT_MS: String(FAULTS_RESOLVE_TIMEOUT_MS) },
    sandbox: { ...sandbox, faults: defaultFaultMix(), webhook: { retries: 3, retryGapMs: FAULTS_WEBHOOK_RETRY_GAP_MS } },
    fulfilmentMs,
    // A dropped webhook is noticed by the safety-net poll, an ambiguous create with a dropped webhook ends at the resolve timeout:
    // tails that long are the faults' design, not a backlog.
    drainLimitMs: DRAIN_LIMIT_MS + FAULTS_RESOLVE_TIMEOUT_MS,
    growthLimitMs: FAULTS_GROWTH_LIMIT_MS,
    notes: [
      ...mode.notes,
      `faults: the README's sandbox fault mix (token 503 5 %; balance 429/500 1 % each; create 503 before commit, 502 and reset after commit 2 % each, hang 1 % (${FAULTS_HANG_MS} ms), 429 2 %; ` +
        'lookup 500/429 2 % each, 404 after create 10 %; webhook drop 2 %, duplicate 5 %, delay 5 % (1 s))',
      `under faults: HTTP_TIMEOUT_MS=${FAULTS_HTTP_TIMEOUT_MS}, RESOLVE_TIMEOUT_MS=${FAULTS_RESOLVE_TIMEOUT_MS} (production 10 s and 2 h) and webhook retries ${FAULTS_WEBHOOK_RETRY_GAP_MS} ms apart, ` +
        'so every faulted order ends within the run; a rate counts as sustained if all but 1 % of its results come within ' +
        `${(DRAIN_LIMIT_MS + FAULTS_RESOLVE_TIMEOUT_MS) / 1000} s of the last arrival and its median latency grows by at most ${FAULTS_GROWTH_LIMIT_MS} ms`,
    ],
  };
}
