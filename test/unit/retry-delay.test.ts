import { describe, expect, it } from 'vitest';
import { retryDelay } from '../../src/lifecycle/order-timing.js';

const timing = { retryBaseDelayMs: 500, retryMaxDelayMs: 30_000 };

/** Many draws of one attempt's delay, to see the jitter's range. */
function draws(attempt: number, t = timing): number[] {
  return Array.from({ length: 2_000 }, () => retryDelay(t, attempt, Math.random()));
}

describe('the retry backoff of one order (by its consecutive failures)', () => {
  it('starts at the base delay, within ±25 % jitter', () => {
    const d = draws(1);
    expect(Math.min(...d)).toBeGreaterThanOrEqual(375);
    expect(Math.max(...d)).toBeLessThanOrEqual(625);
  });

  it('doubles per attempt', () => {
    const d = draws(4);
    expect(Math.min(...d)).toBeGreaterThanOrEqual(3_000);
    expect(Math.max(...d)).toBeLessThanOrEqual(5_000);
  });

  it('never exceeds the maximum plus jitter, however many attempts', () => {
    for (const attempt of [7, 20, 1_000]) {
      const d = draws(attempt);
      expect(Math.min(...d)).toBeGreaterThanOrEqual(22_500);
      expect(Math.max(...d)).toBeLessThanOrEqual(37_500);
    }
  });

  it('treats attempt 0 like the first', () => {
    expect(Math.max(...draws(0))).toBeLessThanOrEqual(625);
  });

  it('spreads a fleet’s retries instead of sending them as one burst', () => {
    expect(new Set(draws(3)).size).toBeGreaterThan(100);
  });

  it('honours a short configured cap', () => {
    const d = draws(10, { retryBaseDelayMs: 50, retryMaxDelayMs: 400 });
    expect(Math.max(...d)).toBeLessThanOrEqual(500);
    expect(Math.min(...d)).toBeGreaterThanOrEqual(300);
  });
});
