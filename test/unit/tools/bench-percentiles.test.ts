import { describe, expect, it } from 'vitest';
import { durationPercentiles, nearestRank } from '../../../tools/bench/percentiles.js';

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
