import { describe, expect, it } from 'vitest';
import type { ProcessMemory, SoakMark } from '../../../tools/bench/soak-report.js';
import { referenceMarkIndex, soakVerdict } from '../../../tools/bench/soak-verdict.js';

const MB = 1024 * 1024;

/** A mark at `results` with the RSS of worker-1, worker-2, webhook-1 and bench in MB (null: unreadable). */
function mark(results: number, w1: number | null, w2: number | null, receiver = 120, bench = 200): SoakMark {
  const proc = (process: string, role: ProcessMemory['role'], mb: number | null): ProcessMemory => ({ process, role, rssBytes: mb === null ? null : mb * MB, heapUsedBytes: null });
  return {
    mark: results,
    results,
    elapsedMs: results,
    windowOrdersPerSecond: results === 0 ? null : 700,
    outstanding: 0,
    processes: [proc('worker-1', 'worker', w1), proc('worker-2', 'worker', w2), proc('webhook-1', 'webhook', receiver), proc('bench', 'bench', bench)],
    redis: { usedMemoryBytes: 0, keys: 0, bytesPerFinishedOrder: null },
  };
}

describe('referenceMarkIndex', () => {
  it('is the 20k mark of a 100k run sampled every 10k', () => {
    const marks = [10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000, 80_000, 90_000, 100_000];
    expect(marks[referenceMarkIndex(marks, 100_000) ?? -1]).toBe(20_000);
  });

  it('is still the 20k mark with marks every 5k', () => {
    const marks = Array.from({ length: 20 }, (_, i) => (i + 1) * 5_000);
    expect(marks[referenceMarkIndex(marks, 100_000) ?? -1]).toBe(20_000);
  });

  it('is never the first mark, even past 20 % (warm-up)', () => {
    expect(referenceMarkIndex([5_000, 10_000, 15_000, 20_000], 20_000)).toBe(1);
  });

  it('is null when nothing comes after it', () => {
    expect(referenceMarkIndex([10_000, 20_000], 20_000)).toBeNull();
    expect(referenceMarkIndex([20_000], 20_000)).toBeNull();
  });
});

describe('soakVerdict', () => {
  const run = (last1: number | null, last2: number | null): SoakMark[] => [
    mark(0, 100, 100),
    mark(10_000, 160, 160),
    mark(20_000, 200, 200),
    mark(30_000, 205, 198),
    mark(40_000, last1, last2, 130, 300),
  ];

  it('judges every worker from the reference mark to the last: flat within ±10 %', () => {
    const v = soakVerdict(run(210, 185), 40_000);
    expect(v).toMatchObject({ fromMark: 20_000, toMark: 40_000, tolerance: 0.1, flat: true, reason: null });
    expect(v.workers).toEqual([
      { process: 'worker-1', fromBytes: 200 * MB, toBytes: 210 * MB, change: 0.05, flat: true },
      { process: 'worker-2', fromBytes: 200 * MB, toBytes: 185 * MB, change: -0.075, flat: true },
    ]);
    // The receiver and the bench process are shown, not judged.
    expect(v.others.map((c) => [c.process, c.change])).toEqual([
      ['webhook-1', 0.0833],
      ['bench', 0.5],
    ]);
  });

  it('counts exactly ±10 % as flat and anything beyond as not', () => {
    expect(soakVerdict(run(220, 180), 40_000).flat).toBe(true);
    const v = soakVerdict(run(221, 200), 40_000);
    expect(v.flat).toBe(false);
    expect(v.workers.map((w) => w.flat)).toEqual([false, true]);
    expect(soakVerdict(run(200, 179), 40_000).flat).toBe(false);
  });

  it('has no verdict for a worker whose RSS could not be read', () => {
    const v = soakVerdict(run(null, 200), 40_000);
    expect(v.flat).toBeNull();
    expect(v.workers[0]).toMatchObject({ process: 'worker-1', change: null, flat: null });
  });

  it('gives no verdict with too few marks, and says why', () => {
    const v = soakVerdict([mark(0, 100, 100), mark(10_000, 150, 150), mark(20_000, 180, 180)], 20_000);
    expect(v).toMatchObject({ fromMark: null, toMark: null, flat: null, workers: [], reason: '2 mark(s) taken' });
  });
});
