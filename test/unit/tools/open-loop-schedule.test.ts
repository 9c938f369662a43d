import { describe, expect, it } from 'vitest';
import { dueUpTo, poissonArrivals } from '../../../tools/bench/poisson-schedule.js';

describe('poissonArrivals', () => {
  it('gives the same schedule for the same rate, duration and seed, and another for another seed or rate', () => {
    const a = poissonArrivals(200, 5_000, 7);
    expect(poissonArrivals(200, 5_000, 7)).toEqual(a);
    expect(poissonArrivals(200, 5_000, 8)).not.toEqual(a);
    expect(poissonArrivals(201, 5_000, 7)).not.toEqual(a);
  });

  it('has exponential gaps with mean 1/rate over many arrivals', () => {
    const rate = 500;
    const arrivals = poissonArrivals(rate, 200_000, 1);
    // About 100 000 arrivals: the count and the mean gap are within a few per mille of rate × duration and 1/rate.
    expect(arrivals.length).toBeGreaterThan(98_000);
    expect(arrivals.length).toBeLessThan(102_000);
    const gaps = arrivals.slice(1).map((at, i) => at - (arrivals[i] ?? 0));
    const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
    expect(mean).toBeGreaterThan((1000 / rate) * 0.98);
    expect(mean).toBeLessThan((1000 / rate) * 1.02);
    // Exponential, not evenly spaced: the variance is about the mean squared, and e^-1 of the gaps exceed the mean.
    const variance = gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length;
    expect(variance / mean ** 2).toBeGreaterThan(0.9);
    expect(variance / mean ** 2).toBeLessThan(1.1);
    expect(gaps.filter((g) => g > mean).length / gaps.length).toBeCloseTo(Math.exp(-1), 1);
  });

  it('keeps every arrival inside [0, duration), ascending', () => {
    const arrivals = poissonArrivals(1_000, 3_000, 3);
    expect(arrivals.length).toBeGreaterThan(2_700);
    expect(arrivals[0]).toBeGreaterThanOrEqual(0);
    expect(arrivals.at(-1)).toBeLessThan(3_000);
    expect(arrivals).toEqual([...arrivals].sort((x, y) => x - y));
  });

  it('refuses a rate or duration that is not positive', () => {
    expect(() => poissonArrivals(0, 1_000, 1)).toThrow(RangeError);
    expect(() => poissonArrivals(10, -1, 1)).toThrow(RangeError);
    expect(() => poissonArrivals(Number.NaN, 1_000, 1)).toThrow(RangeError);
  });
});

describe('dueUpTo', () => {
  it('is the index just past the last arrival due at the elapsed time, from where the loop left off', () => {
    const arrivals = [1, 2.5, 2.5, 4, 10];
    expect(dueUpTo(arrivals, 0, 0.5)).toBe(0);
    expect(dueUpTo(arrivals, 0, 2.5)).toBe(3);
    expect(dueUpTo(arrivals, 3, 9.9)).toBe(4);
    expect(dueUpTo(arrivals, 4, 100)).toBe(5);
    expect(dueUpTo(arrivals, 5, 100)).toBe(5);
  });
});
