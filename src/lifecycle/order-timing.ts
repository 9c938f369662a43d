import type { LifecyclePolicy, OrderState } from './order-state.js';

/**
 * Every wait of the order lifecycle, as pure functions of the policy, the order's state and a
 * random number the caller draws (jitter). Durations and times in ms.
 */

/** Shortest and longest gap between two balance checks of an order waiting for funds. */
export const FUNDS_RECHECK_MIN_MS = 1_000;
export const FUNDS_RECHECK_MAX_MS = 30_000;
/** How long the fleet pauses on a 429 that says nothing of when to come back. */
export const DEFAULT_RATE_LIMIT_PAUSE_MS = 1_000;
/** Consecutive failures assumed after an unexpected error (a bug, Redis away): about 4 s at the default timing. */
const UNEXPECTED_ERROR_FAILURES = 4;

/**
 * Delay before the retry that follows `failures` consecutive failures (1-based):
 * `retryBaseDelayMs * 2^(failures-1)`, capped at `retryMaxDelayMs`, with ±25 % jitter so a fleet's
 * retries do not arrive as one burst.
 */
export function retryDelay(policy: Pick<LifecyclePolicy, 'retryBaseDelayMs' | 'retryMaxDelayMs'>, failures: number, random: number): number {
  const base = Math.min(policy.retryMaxDelayMs, policy.retryBaseDelayMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
  return Math.max(1, Math.round(base * (0.75 + random * 0.5)));
}

/** When to re-run a job whose run failed unexpectedly at `atMs` (the ledger makes re-running safe), epoch ms. */
export function rerunAfterUnexpectedError(policy: LifecyclePolicy, atMs: number, random: number): number {
  return atMs + retryDelay(policy, UNEXPECTED_ERROR_FAILURES, random);
}

/**
 * Delay before the next poll of a placed order: as long as it has been in progress (backoff), at
 * least the first-poll delay (longer while a receiver is alive: the webhook is the fast path), at
 * most `pollMaxDelayMs`.
 */
export function pollDelay(policy: LifecyclePolicy, webhookAlive: boolean, placedForMs: number): number {
  const base = webhookAlive ? policy.pollWebhookDelayMs : policy.pollInitialDelayMs;
  return Math.min(policy.pollMaxDelayMs, Math.max(base, placedForMs));
}

/** Delay before checking the funds again: as long as the order has waited, within 1..30 s. */
export function fundsRecheckDelay(waitedMs: number): number {
  return Math.min(FUNDS_RECHECK_MAX_MS, Math.max(FUNDS_RECHECK_MIN_MS, waitedMs));
}

/**
 * When no create may be retried any more, epoch ms: RESOLVE_TIMEOUT_MS after the first attempt that may
 * have landed. Attempts that provably did not land (429, insufficient balance) do not count.
 */
export function retryCutoff(state: OrderState, policy: LifecyclePolicy): number {
  return (state.maybeLandedAtMs ?? state.firstAttemptAtMs ?? state.receivedAtMs) + policy.resolveTimeoutMs;
}

/**
 * When an unknown outcome becomes `unresolved`, epoch ms: RESOLVE_TIMEOUT_MS after the latest attempt
 * that may have landed, so a retry sent just before the cutoff still gets the whole window for its
 * webhook. Bounded: no attempt is sent after {@link retryCutoff}.
 */
export function resolveDeadline(state: OrderState, policy: LifecyclePolicy): number {
  return (state.lastMaybeLandedAtMs ?? state.maybeLandedAtMs ?? state.firstAttemptAtMs ?? state.receivedAtMs) + policy.resolveTimeoutMs;
}

/**
 * When an operator's resolve request gives up, epoch ms: RESOLVE_TIMEOUT_MS after it was made. Until
 * then its order is looked up with the poll delays; an order that stays non-terminal (or a lookup that
 * keeps failing) must not hold the merchant_order_id for good.
 */
export function resolutionRequestDeadline(requestedAtMs: number, policy: LifecyclePolicy): number {
  return requestedAtMs + policy.resolveTimeoutMs;
}

/**
 * How long whoever decided a result has to emit it before someone else who finds it decided but
 * not emitted does so (the decider then died between the two), in ms. Keeps a worker and the webhook
 * receiver that race on one order from both adding the result.
 */
export const EMIT_GRACE_MS = 5_000;
