import { describe, expect, it } from 'vitest';
import { bytesPerFinishedOrder, dueMark, soakMarkPoints, windowRate } from '../../../tools/bench/soak-marks.js';

describe('soakMarkPoints', () => {
  it('marks every `every` results up to the orders, the last one at the orders', () => {
    expect(soakMarkPoints(100_000, 10_000)).toEqual([10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000, 80_000, 90_000, 100_000]);
  });

  it('adds the last order when the orders are not a multiple of `every`', () => {
    expect(soakMarkPoints(25_000, 10_000)).toEqual([10_000, 20_000, 25_000]);
  });

  it('has the one mark at the end when `every` is the orders', () => {
    expect(soakMarkPoints(2_000, 2_000)).toEqual([2_000]);
  });
});

describe('dueMark', () => {
  const points = [1_000, 2_000, 3_000];

  it('is the next mark once the results reach it, null before', () => {
    expect(dueMark(points, 0, 999)).toBeNull();
    expect(dueMark(points, 0, 1_000)).toBe(1_000);
    expect(dueMark(points, 1, 1_500)).toBeNull();
    expect(dueMark(points, 1, 2_031)).toBe(2_000);
  });

  it('gives marks passed at once one by one, none skipped', () => {
    expect(dueMark(points, 0, 3_000)).toBe(1_000);
    expect(dueMark(points, 1, 3_000)).toBe(2_000);
    expect(dueMark(points, 2, 3_000)).toBe(3_000);
  });

  it('is null once every mark is taken', () => {
    expect(dueMark(points, 3, 3_000)).toBeNull();
  });
});

describe('windowRate', () => {
  it('is the results between two samples per second', () => {
    expect(windowRate({ results: 10_000, elapsedMs: 15_000 }, { results: 20_000, elapsedMs: 27_500 })).toBe(800);
    expect(windowRate({ results: 0, elapsedMs: 0 }, { results: 1_026, elapsedMs: 2_520 })).toBe(407.1);
  });

  it('counts a zero-length window as 1 ms rather than dividing by zero', () => {
    expect(windowRate({ results: 5, elapsedMs: 10 }, { results: 6, elapsedMs: 10 })).toBe(1_000);
  });
});

describe('bytesPerFinishedOrder', () => {
  it('is the used_memory growth since the baseline per finished order, whole bytes', () => {
    expect(bytesPerFinishedOrder(2_000_000, 84_240_000, 20_000)).toBe(4_112);
  });

  it('is null before any order finished', () => {
    expect(bytesPerFinishedOrder(2_000_000, 2_500_000, 0)).toBeNull();
  });
});
