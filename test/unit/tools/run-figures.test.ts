import { describe, expect, it } from 'vitest';
import type { OrderResult } from '../../../src/lifecycle/order-state.js';
import {
  callsPerPlacedOrder,
  durationPercentiles,
  formatMs,
  formatSeconds,
  nearestRank,
  nonZeroCounts,
  perSecond,
  reportRow,
  RESULT_STATUSES,
  round,
  tallyByStatus,
} from '../../../tools/figures/run-figures.js';
import { sampleResult } from '../../support/fixtures.js';

describe('durationPercentiles', () => {
  it('takes nearest-rank p50/p95/p99 and the max of 1..100 ms whatever the input order', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(durationPercentiles(values)).toEqual({ p50: 50, p95: 95, p99: 99, max: 100, samples: 100 });
  });

  it('reports an observed value, never an interpolated one', () => {
    expect(durationPercentiles([10, 1000])).toEqual({ p50: 10, p95: 1000, p99: 1000, max: 1000, samples: 2 });
  });

  it('gives every percentile as the one value of a single sample', () => {
    expect(durationPercentiles([7])).toEqual({ p50: 7, p95: 7, p99: 7, max: 7, samples: 1 });
  });

  it('is null without samples', () => {
    expect(durationPercentiles([])).toBeNull();
    expect(nearestRank([], 0.5)).toBeUndefined();
  });

  it('leaves the caller’s array as it was', () => {
    const values = [3, 1, 2];
    durationPercentiles(values);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe('durations as text', () => {
  it('prints ms below a second, two decimals up to ten seconds, one above', () => {
    expect([formatMs(0), formatMs(849.6), formatMs(1_000), formatMs(1_504), formatMs(9_999), formatMs(10_000), formatMs(62_345)]).toEqual([
      '0 ms',
      '850 ms',
      '1.00 s',
      '1.50 s',
      '10.00 s',
      '10.0 s',
      '62.3 s',
    ]);
  });

  it('prints settings and long runs in seconds with one decimal', () => {
    expect([formatSeconds(1_000), formatSeconds(250), formatSeconds(62_000)]).toEqual(['1.0 s', '0.3 s', '62.0 s']);
  });
});

describe('results by status', () => {
  it('counts every status, 0 for the absent ones, in the order reports list them', () => {
    const results: OrderResult[] = [
      sampleResult('a'),
      sampleResult('b'),
      sampleResult('c', { status: 'rejected', order_id: null }),
      sampleResult('d', { status: 'unresolved', order_id: null }),
    ];
    expect(tallyByStatus(results)).toEqual({ completed: 2, partial: 0, failed: 0, rejected: 1, unresolved: 1 });
    expect(tallyByStatus([])).toEqual({ completed: 0, partial: 0, failed: 0, rejected: 0, unresolved: 0 });
    expect(RESULT_STATUSES).toEqual(['completed', 'partial', 'failed', 'rejected', 'unresolved']);
  });
});

describe('rates', () => {
  it('divides the sandbox calls by the orders placed, to 4 decimals, and has none without an order', () => {
    expect(callsPerPlacedOrder({ token: 1, balance: 2, create: 3, lookup: 0 }, 3)).toEqual({ token: 0.3333, balance: 0.6667, create: 1, lookup: 0, total: 2 });
    expect(callsPerPlacedOrder({ token: 1, balance: 0, create: 0, lookup: 0 }, 0)).toBeNull();
  });

  it('gives a rate per second, a span under 1 ms counting as 1 ms', () => {
    expect(perSecond(3, 2_000, 1)).toBe(1.5);
    expect(perSecond(1_000, 3_000, 0)).toBe(333);
    expect(perSecond(5, 0, 0)).toBe(5_000);
    expect(round(2 / 3, 3)).toBe(0.667);
  });
});

describe('report text', () => {
  it('lists the counts above 0 by name, and pads a row label', () => {
    expect(nonZeroCounts({ 'webhook.drop': 2, 'create.rateLimited': 1, 'lookup.serverError': 0 })).toEqual([
      ['create.rateLimited', 1],
      ['webhook.drop', 2],
    ]);
    expect(reportRow('throughput', '12 orders/s', 12)).toBe('  throughput  12 orders/s');
  });
});
