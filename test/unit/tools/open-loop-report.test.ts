import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sweepSummary } from '../../../tools/bench/open-loop-figures.js';
import { rateOutcome, renderOpenLoopMarkdown, writeOpenLoopResults, type OpenLoopRateReport, type OpenLoopReport } from '../../../tools/bench/open-loop-report.js';
import { openLoopSetup } from '../../../tools/bench/open-loop-setup.js';

function rate(offered: number, e2rP99: number, s2rP99: number, sustained: boolean): OpenLoopRateReport {
  return {
    offeredPerSecond: offered,
    arrivals: offered * 10,
    measuredArrivals: offered * 8,
    results: offered * 10,
    byStatus: { completed: offered * 8, partial: offered, failed: offered, rejected: 0, unresolved: 0 },
    throughput: {
      offeredPerSecond: offered,
      scheduledPerSecond: offered,
      enqueuedPerSecond: offered,
      achievedPerSecond: sustained ? offered - 1 : offered / 2,
      keptUpRatio: sustained ? 1 : 0.5,
      backlogAtEnd: sustained ? 3 : offered * 5,
      drainMs: sustained ? 30 : 5_000,
      lateResults: sustained ? 0 : offered * 2,
      latencyGrowthMs: sustained ? 2 : 4_000,
      sustained,
    },
    latency: {
      enqueueToResultMs: { p50: e2rP99 / 4, p95: e2rP99 / 2, p99: e2rP99, max: e2rP99 * 2, samples: offered * 8 },
      enqueueToResultMinusFulfilmentMs: { p50: e2rP99 / 4, p95: e2rP99 / 2, p99: e2rP99 - 1, max: e2rP99 * 2, samples: offered * 8 },
      settleToResultMs: { p50: s2rP99 / 4, p95: s2rP99 / 2, p99: s2rP99, max: s2rP99 * 2, samples: offered * 8 },
      fulfilmentMs: { p50: 0, p95: 1, p99: 1, max: 2, samples: offered * 8 },
    },
    enqueueLagMs: { p50: 1, p95: 2, p99: 3, max: 4, samples: offered * 8 },
    enqueueCalls: offered * 3,
    redis: { commands: offered * 1_000, commandsPerOrder: 100, scripts: offered * 140, scriptsPerOrder: 14, cpuSeconds: 1, cpuUsPerOrder: 500, top: [] },
    callsPerPlacedOrder: { token: 0, balance: 0.001, create: 1, lookup: 0, total: 1.001 },
    faults: {},
    webhooks: { sent: offered * 10, acknowledged: offered * 10, failed: 0, dropped: 0, abandoned: 0 },
    correctness: { ok: true, problemCount: 0, problems: [] },
    withinTarget: sustained && s2rP99 <= 50 && e2rP99 - 1 <= 100,
    slowest: [{ merchantOrderId: `open-loop-${offered}-7`, status: 'completed', enqueueToResultMs: e2rP99 * 2, settleToResultMs: s2rP99 * 2, webhookAttempts: 1 }],
  };
}

function report(): OpenLoopReport {
  const setup = openLoopSetup('instant', 'none', 64, 1);
  const rates = [rate(100, 30, 10, true), rate(200, 80, 40, true), rate(400, 400, 120, true), rate(800, 9_000, 3_000, false)];
  return {
    date: '2026-06-01T12:00:00.000Z',
    machine: { cpuModel: 'Test CPU', cores: 2, memoryBytes: 8 * 1024 ** 3, node: 'v20.0.0', redis: '7.2.4', os: 'linux 6.1.0', loadAverage: [0.5, 0.4, 0.3] },
    settings: {
      rates: rates.map((r) => r.offeredPerSecond),
      durationS: 10,
      warmUpS: 2,
      tickMs: 2,
      fulfilment: 'instant',
      fulfilmentMs: setup.fulfilmentMs,
      faults: 'none',
      workers: 2,
      concurrency: 64,
      seed: 1,
      env: setup.env,
      catalog: true,
      drainLimitMs: setup.drainLimitMs,
      growthLimitMs: setup.growthLimitMs,
      notes: setup.notes,
    },
    rates,
    summary: sweepSummary(rates.map(rateOutcome)),
    ok: true,
  };
}

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('renderOpenLoopMarkdown', () => {
  const markdown = renderOpenLoopMarkdown(report());

  it('has one latency-vs-load row per rate', () => {
    expect(markdown).toContain('| 100 | 99.0 | 8 ms | 15 ms | 30 ms | 60 ms | 29 ms | 3 ms | 5 ms | 10 ms | 20 ms | 100.0 | 500.0 | yes | yes | yes |');
    expect(markdown).toContain('| 400 | 399.0 | 100 ms | 200 ms | 400 ms | 800 ms | 399 ms | 30 ms | 60 ms | 120 ms | 240 ms | 100.0 | 500.0 | yes | no | yes |');
    expect(markdown).toContain('| 800 | 400.0 | 2.25 s | 4.50 s | 9.00 s | 18.0 s | 9.00 s | 750 ms | 1.50 s | 3.00 s | 6.00 s | 100.0 | 500.0 | **no** | no | yes |');
  });

  it('gives the verdict: highest sustained, highest within target, and the target at half the maximum', () => {
    expect(markdown).toContain('- highest sustained rate measured: **400/s** (a lower bound of the true maximum: the next rate up was not sustained)');
    expect(markdown).toContain('settle → result p99 ≤ 50 ms and enqueue → result − fulfilment p99 ≤ 100 ms): **200/s**');
    expect(markdown).toContain(
      '- issue #11 target: at half the maximum sustained rate (200/s; nearest measured rate at or below it: 200/s) p99 settle → result = 40 ms (target ≤ 50 ms) ' +
        'and p99 enqueue → result − fulfilment = 79 ms (target ≤ 100 ms; raw enqueue → result p99 80 ms): **met**',
    );
  });

  it('has a section per rate, the setup, the machine and how the figures are taken', () => {
    for (const text of ['## 100/s', '## 800/s', '| sustained | **no**: kept up 0.500', '| slowest orders (enqueue → result / settle → result) | open-loop-100-7 completed 60 ms / 20 ms |', '## Setup', '## Machine', '| CPU | Test CPU, 2 cores |', '## How the figures are taken', 'first 2 s']) {
      expect(markdown).toContain(text);
    }
  });

  it('is written with its JSON as open-loop-<rates>.md and .json', async () => {
    dir = mkdtempSync(join(tmpdir(), 'open-loop-report-'));
    const r = report();
    const paths = await writeOpenLoopResults(dir, r, markdown);
    expect(paths).toEqual({ json: join(dir, 'open-loop-100-200-400-800.json'), markdown: join(dir, 'open-loop-100-200-400-800.md') });
    expect(JSON.parse(readFileSync(paths.json, 'utf8'))).toEqual(r);
    expect(readFileSync(paths.markdown, 'utf8')).toBe(markdown);
  });
});
