import { describe, expect, it } from 'vitest';
import { renderSoakMarkdown, type ProcessMemory, type SoakMark, type SoakReport } from '../../../tools/bench/soak-report.js';
import { soakVerdict } from '../../../tools/bench/soak-verdict.js';

const MB = 1024 * 1024;

function mark(results: number, elapsedMs: number, rate: number | null, rss: [number, number, number, number], usedMb: number, keys: number, perOrder: number | null): SoakMark {
  const names: [string, ProcessMemory['role']][] = [
    ['worker-1', 'worker'],
    ['worker-2', 'worker'],
    ['webhook-1', 'webhook'],
    ['bench', 'bench'],
  ];
  return {
    mark: results,
    results,
    elapsedMs,
    windowOrdersPerSecond: rate,
    outstanding: 1_500,
    processes: names.map(([process, role], i) => ({ process, role, rssBytes: (rss[i] ?? 0) * MB, heapUsedBytes: i === 2 ? null : 40 * MB })),
    redis: { usedMemoryBytes: usedMb * MB, keys, bytesPerFinishedOrder: perOrder },
  };
}

const marks: SoakMark[] = [
  mark(0, 0, null, [100, 100, 95, 130], 2, 5, null),
  mark(1_000, 1_500, 666.7, [150, 152, 120, 170], 6, 3_005, 4_194),
  mark(2_000, 3_000, 666.7, [180, 176, 122, 190], 10, 6_005, 4_194),
  mark(3_000, 4_400, 714.3, [189, 200, 123, 210], 14, 9_005, 4_194),
];

const report: SoakReport = {
  date: '2026-11-27T21:00:00.000Z',
  machine: { cpuModel: 'AMD EPYC', cores: 2, memoryBytes: 24 * 1024 ** 3, node: 'v20.20.2', redis: '7.0.15', os: 'linux 6.8.0', loadAverage: [1.5, 1, 0.5] },
  settings: { orders: 3_000, every: 1_000, workers: 2, concurrency: 64, batchSize: 1_000, maxOutstanding: 4_000, seed: 1, partitions: 1 },
  env: { WORKER_CONCURRENCY: '64', LOG_LEVEL: 'warn' },
  retention: { retentionSeconds: 604_800, tombstoneTtlSeconds: 2_592_000, unmatchedEventTtlSeconds: 259_200 },
  marks,
  verdict: soakVerdict(marks, 3_000),
  peakOutstanding: 3_000,
  orders: 3_000,
  results: 3_000,
  byStatus: { completed: 2_500, partial: 200, failed: 300, rejected: 0, unresolved: 0 },
  durationMs: 4_400,
  ordersPerSecond: 681.8,
  placedOrders: 3_000,
  correctness: { ok: true, problemCount: 0, problems: [] },
  ok: true,
};

describe('renderSoakMarkdown', () => {
  const markdown = renderSoakMarkdown(report);
  const lines = markdown.split('\n');

  it('titles the run and says it was correct', () => {
    expect(lines[0]).toBe('# voodoo-fulfillment soak, 3000 orders, 2026-11-27T21:00:00.000Z');
    expect(markdown).toContain('at most 4000 outstanding (enqueued without a result; peak 3000)');
    expect(markdown).toContain('Result: correct.');
  });

  it('gives the verdict per worker from the reference mark to the last, the others shown but not judged', () => {
    expect(markdown).toContain('**Worker RSS NOT flat**: some worker moved more than ±10 % between 2000 and 3000 orders.');
    expect(lines).toContain('| worker-1 | 180.0 → 189.0 MB (+5.0 %) | flat (within ±10 %) |');
    expect(lines).toContain('| worker-2 | 176.0 → 200.0 MB (+13.6 %) | **not flat** (outside ±10 %) |');
    expect(lines).toContain('| webhook-1 | 122.0 → 123.0 MB (+0.8 %) | not judged |');
  });

  it('has a row per mark: orders, elapsed, window rate, RSS per process, Redis memory, keys and bytes per order', () => {
    expect(lines).toContain(
      '| orders | elapsed | orders/s (window) | worker-1 RSS MB | worker-2 RSS MB | webhook-1 RSS MB | bench RSS MB | Redis used_memory MB | Redis keys | Redis bytes / finished order |',
    );
    expect(lines).toContain('| 0 (baseline) | – | – | 100.0 | 100.0 | 95.0 | 130.0 | 2.0 | 5 | – |');
    expect(lines).toContain('| 1000 | 1.50 s | 667 | 150.0 | 152.0 | 120.0 | 170.0 | 6.0 | 3005 | 4194 |');
    expect(lines).toContain('| 3000 | 4.40 s | 714 | 189.0 | 200.0 | 123.0 | 210.0 | 14.0 | 9005 | 4194 |');
    // An unreadable heap is n/a, not 0.
    expect(lines).toContain('| 1000 | 40.0 | 40.0 | n/a | 40.0 |');
  });

  it('states the retention in force, the results and the machine', () => {
    expect(markdown).toContain('RETENTION_SECONDS 604800 (7 d), TOMBSTONE_TTL_SECONDS 2592000 (30 d), UNMATCHED_EVENT_TTL_SECONDS 259200 (3 d)');
    expect(lines).toContain('| results | 3000 of 3000: completed 2500, partial 200, failed 300; 3000 orders placed in the sandbox |');
    expect(lines).toContain('| Redis retained per finished order | 4194 bytes at 3000 orders |');
    expect(lines).toContain('| CPU | AMD EPYC, 2 cores |');
    expect(lines).toContain('| load average at start (1/5/15 min) | 1.5 / 1 / 0.5 |');
  });

  it('says flat when every worker is, and why there is no verdict with too few marks', () => {
    const flat = renderSoakMarkdown({ ...report, verdict: soakVerdict(marks.map((m) => (m.mark === 3_000 ? mark(3_000, 4_400, 714.3, [189, 180, 123, 210], 14, 9_005, 4_194) : m)), 3_000) });
    expect(flat).toContain('**Worker RSS flat**: every worker within ±10 % between 2000 and 3000 orders.');
    const none = renderSoakMarkdown({ ...report, verdict: soakVerdict(marks.slice(0, 3), 2_000) });
    expect(none).toContain('No verdict: it needs a mark past the warm-up and a later one (at least 3 marks; 2 mark(s) taken).');
  });

  it('shows a failed check with its first problems', () => {
    const failed = renderSoakMarkdown({ ...report, ok: false, correctness: { ok: false, problemCount: 2, problems: ['soak-7: no result', 'x'] } });
    expect(failed).toContain('Result: **FAILED its correctness check**.');
    expect(failed).toContain('**FAILED**: 2 problem(s), e.g. soak-7: no result; x');
  });
});
