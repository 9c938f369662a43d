import { describe, expect, it } from 'vitest';
import { initialState } from '../../src/lifecycle/order-machine.js';
import type { OrderState } from '../../src/lifecycle/order-state.js';
import {
  DEFAULT_RATE_LIMIT_PAUSE_MS,
  EMIT_GRACE_MS,
  FUNDS_RECHECK_MAX_MS,
  FUNDS_RECHECK_MIN_MS,
  fundsRecheckDelay,
  pollDelay,
  rerunAfterUnexpectedError,
  resolveDeadline,
  retryCutoff,
  retryDelay,
} from '../../src/lifecycle/order-timing.js';
import { testPolicy } from '../support/lifecycle.js';

// retryDelay itself is covered by retry-delay.test.ts; here it is only a reference for the re-run delay.

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const policy = testPolicy();

describe('pollDelay (the wait before the next lookup of a placed order)', () => {
  describe('without a live webhook receiver', () => {
    it('polls first after pollInitialDelayMs', () => {
      expect(pollDelay(policy, false, 0)).toBe(policy.pollInitialDelayMs);
    });

    it('never polls sooner than pollInitialDelayMs, however recent the order', () => {
      expect(pollDelay(policy, false, policy.pollInitialDelayMs - 1)).toBe(policy.pollInitialDelayMs);
      expect(pollDelay(policy, false, -5 * SECOND)).toBe(policy.pollInitialDelayMs);
    });

    it('backs off: waits as long as the order has been in progress', () => {
      expect(pollDelay(policy, false, 5 * SECOND)).toBe(5 * SECOND);
      expect(pollDelay(policy, false, 42 * SECOND)).toBe(42 * SECOND);
    });

    it('is capped at pollMaxDelayMs', () => {
      expect(pollDelay(policy, false, policy.pollMaxDelayMs)).toBe(policy.pollMaxDelayMs);
      expect(pollDelay(policy, false, policy.pollMaxDelayMs + 1)).toBe(policy.pollMaxDelayMs);
      expect(pollDelay(policy, false, 48 * 60 * MINUTE)).toBe(policy.pollMaxDelayMs);
    });
  });

  describe('while a webhook receiver is alive (the webhook is the fast path)', () => {
    it('polls first only after pollWebhookDelayMs', () => {
      expect(pollDelay(policy, true, 0)).toBe(policy.pollWebhookDelayMs);
      expect(pollDelay(policy, true, 5 * SECOND)).toBe(policy.pollWebhookDelayMs);
    });

    it('backs off past it as the order stays in progress, up to pollMaxDelayMs', () => {
      expect(pollDelay(policy, true, 45 * SECOND)).toBe(45 * SECOND);
      expect(pollDelay(policy, true, 10 * MINUTE)).toBe(policy.pollMaxDelayMs);
    });
  });

  it('lets pollMaxDelayMs win over a first-poll delay configured above it', () => {
    const short = testPolicy({ pollInitialDelayMs: 20 * SECOND, pollWebhookDelayMs: 90 * SECOND, pollMaxDelayMs: 15 * SECOND });
    expect(pollDelay(short, false, 0)).toBe(15 * SECOND);
    expect(pollDelay(short, true, 0)).toBe(15 * SECOND);
  });
});

describe('fundsRecheckDelay (the wait before checking the funds again)', () => {
  it('is at least FUNDS_RECHECK_MIN_MS (1 s) when the wait just began', () => {
    expect(FUNDS_RECHECK_MIN_MS).toBe(1_000);
    expect(fundsRecheckDelay(0)).toBe(1_000);
    expect(fundsRecheckDelay(999)).toBe(1_000);
  });

  it('grows with how long the order has waited', () => {
    expect(fundsRecheckDelay(1_001)).toBe(1_001);
    expect(fundsRecheckDelay(7_500)).toBe(7_500);
    expect(fundsRecheckDelay(29_999)).toBe(29_999);
  });

  it('is at most FUNDS_RECHECK_MAX_MS (30 s)', () => {
    expect(FUNDS_RECHECK_MAX_MS).toBe(30_000);
    expect(fundsRecheckDelay(30_000)).toBe(30_000);
    expect(fundsRecheckDelay(30_001)).toBe(30_000);
    expect(fundsRecheckDelay(24 * 60 * MINUTE)).toBe(30_000);
  });
});

describe('retryCutoff and resolveDeadline (how long an unknown outcome may stay unknown)', () => {
  const RECEIVED_AT = T0;
  const FIRST_ATTEMPT_AT = T0 + 10 * SECOND;
  /** The first attempt that may have landed (its ambiguous answer). */
  const MAYBE_LANDED_AT = T0 + 50 * SECOND;
  /** A later retry that may have landed too, heard of just before the cutoff. */
  const LAST_MAYBE_LANDED_AT = MAYBE_LANDED_AT + policy.resolveTimeoutMs - SECOND;
  const base: OrderState = initialState({ merchantOrderId: 'shop-1', itemId: 4090 }, RECEIVED_AT);
  const onceLanded: OrderState = {
    ...base,
    firstAttemptAtMs: FIRST_ATTEMPT_AT,
    maybeLanded: true,
    maybeLandedAtMs: MAYBE_LANDED_AT,
    lastMaybeLandedAtMs: MAYBE_LANDED_AT,
  };
  const twiceLanded: OrderState = { ...onceLanded, lastMaybeLandedAtMs: LAST_MAYBE_LANDED_AT };

  describe('retryCutoff (no create is sent at or after it)', () => {
    it('counts from when an attempt first may have landed', () => {
      expect(retryCutoff(onceLanded, policy)).toBe(MAYBE_LANDED_AT + policy.resolveTimeoutMs);
    });

    it('does not move when a later attempt may have landed too: the retries are bounded', () => {
      expect(retryCutoff(twiceLanded, policy)).toBe(MAYBE_LANDED_AT + policy.resolveTimeoutMs);
      expect(retryCutoff({ ...twiceLanded, lastMaybeLandedAtMs: T0 + 24 * 60 * MINUTE }, policy)).toBe(MAYBE_LANDED_AT + policy.resolveTimeoutMs);
    });

    it('counts from the first attempt when no attempt may have landed, and from receipt when none was recorded', () => {
      expect(retryCutoff({ ...base, firstAttemptAtMs: FIRST_ATTEMPT_AT }, policy)).toBe(FIRST_ATTEMPT_AT + policy.resolveTimeoutMs);
      expect(retryCutoff(base, policy)).toBe(RECEIVED_AT + policy.resolveTimeoutMs);
    });

    it('moves with resolveTimeoutMs', () => {
      expect(retryCutoff(twiceLanded, testPolicy({ resolveTimeoutMs: 2 * 60 * MINUTE }))).toBe(MAYBE_LANDED_AT + 2 * 60 * MINUTE);
      expect(retryCutoff(twiceLanded, testPolicy({ resolveTimeoutMs: 0 }))).toBe(MAYBE_LANDED_AT);
    });
  });

  describe('resolveDeadline (the order ends unresolved only then)', () => {
    it('counts from when the latest attempt that may have landed was heard of: each one gets a whole window', () => {
      expect(resolveDeadline(twiceLanded, policy)).toBe(LAST_MAYBE_LANDED_AT + policy.resolveTimeoutMs);
    });

    it('is the cutoff when only one attempt may have landed', () => {
      expect(resolveDeadline(onceLanded, policy)).toBe(MAYBE_LANDED_AT + policy.resolveTimeoutMs);
      expect(resolveDeadline(onceLanded, policy)).toBe(retryCutoff(onceLanded, policy));
    });

    it('is later than the cutoff once a later attempt may have landed, by as much as it came later', () => {
      expect(resolveDeadline(twiceLanded, policy) - retryCutoff(twiceLanded, policy)).toBe(LAST_MAYBE_LANDED_AT - MAYBE_LANDED_AT);
    });

    it('falls back to when an attempt first may have landed, then to the first attempt, then to receipt', () => {
      expect(resolveDeadline({ ...onceLanded, lastMaybeLandedAtMs: null }, policy)).toBe(MAYBE_LANDED_AT + policy.resolveTimeoutMs);
      expect(resolveDeadline({ ...base, firstAttemptAtMs: FIRST_ATTEMPT_AT }, policy)).toBe(FIRST_ATTEMPT_AT + policy.resolveTimeoutMs);
      expect(resolveDeadline(base, policy)).toBe(RECEIVED_AT + policy.resolveTimeoutMs);
    });

    it('moves with resolveTimeoutMs', () => {
      expect(resolveDeadline(twiceLanded, testPolicy({ resolveTimeoutMs: 2 * 60 * MINUTE }))).toBe(LAST_MAYBE_LANDED_AT + 2 * 60 * MINUTE);
      expect(resolveDeadline(twiceLanded, testPolicy({ resolveTimeoutMs: 0 }))).toBe(LAST_MAYBE_LANDED_AT);
    });
  });
});

describe('EMIT_GRACE_MS', () => {
  it('gives the decider of a result five seconds to emit it before anyone else who finds it does', () => {
    expect(EMIT_GRACE_MS).toBe(5_000);
  });
});

describe('rerunAfterUnexpectedError (when a job whose run failed unexpectedly runs again)', () => {
  it('waits as after four consecutive failures: about 4 s at a 500 ms base, ±25 %', () => {
    expect(rerunAfterUnexpectedError(policy, T0, 0.5)).toBe(T0 + 4_000);
    expect(rerunAfterUnexpectedError(policy, T0, 0)).toBe(T0 + 3_000);
    expect(rerunAfterUnexpectedError(policy, T0, 0.999_999)).toBe(T0 + 5_000);
  });

  it('is the retry backoff of the fourth failure, from the time of the failure', () => {
    for (const random of [0, 0.1, 0.37, 0.5, 0.82, 0.999]) {
      expect(rerunAfterUnexpectedError(policy, T0 + 7 * MINUTE, random)).toBe(T0 + 7 * MINUTE + retryDelay(policy, 4, random));
    }
  });

  it('stays within retryMaxDelayMs (plus jitter) when the cap is short', () => {
    const capped = testPolicy({ retryBaseDelayMs: 1_000, retryMaxDelayMs: 2_000 });
    expect(rerunAfterUnexpectedError(capped, T0, 0.5)).toBe(T0 + 2_000);
    expect(rerunAfterUnexpectedError(capped, T0, 0.999_999)).toBeLessThanOrEqual(T0 + 2_500);
  });

  it('is always later than the failure', () => {
    const tiny = testPolicy({ retryBaseDelayMs: 1, retryMaxDelayMs: 1 });
    expect(rerunAfterUnexpectedError(tiny, T0, 0)).toBeGreaterThan(T0);
  });
});

describe('DEFAULT_RATE_LIMIT_PAUSE_MS', () => {
  it('pauses the fleet one second on a 429 without Retry-After', () => {
    expect(DEFAULT_RATE_LIMIT_PAUSE_MS).toBe(1_000);
  });
});
