import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeBenchResults } from '../../../tools/bench/bench-output.js';
import { renderBenchMarkdown, type BenchReport, type ModeReport } from '../../../tools/bench/bench-report.js';
import { BENCH_LOG_LEVEL, benchModeSetup, type BenchMode } from '../../../tools/bench/bench-modes.js';
import { stepsReport } from './step-costs-fixture.js';

function modeReport(mode: BenchMode, overrides: Partial<ModeReport> = {}): ModeReport {
  const setup = benchModeSetup(mode, 64);
  return {
    mode,
    setup: {
      receiver: setup.receiver,
      fulfilmentMs: { min: setup.fulfilment.minMs, max: setup.fulfilment.maxMs },
      workers: 2,
      env: setup.env,
      catalog: true,
      notes: setup.notes,
    },
    orders: 5000,
    results: 5000,
    byStatus: { completed: 4000, partial: 500, failed: 500, rejected: 0, unresolved: 0 },
    enqueueMs: 400,
    durationMs: 4000,
    ordersPerSecond: 1250,
    ratioToCeiling: 0.25,
    placedOrders: 5000,
    callsPerPlacedOrder: { token: 0.0002, balance: 0.001, create: 1, lookup: 0, total: 1.0012 },
    redis: {
      commands: 300_000,
      commandsPerOrder: 60,
      scripts: 35_000,
      scriptsPerOrder: 7,
      cpuSeconds: 1.2,
      cpuUsPerOrder: 240,
      top: [
        { command: 'evalsha', calls: 35_000, perOrder: 7 },
        { command: 'client|setname', calls: 10, perOrder: 0 },
      ],
    },
    settleToResultMs: { p50: 4, p95: 12, p99: 30, max: 80, samples: 5000 },
    memory: { retainedPerOrder: 3072, intentJob: 1024, resultJob: 1536, ledgerRecord: 2048, tombstone: null },
    peakRss: [
      { process: 'webhook-1', bytes: 80 * 1024 * 1024 },
      { process: 'worker-1', bytes: 150 * 1024 * 1024 },
      { process: 'worker-2', bytes: null },
    ],
    webhooks: { sent: 5000, acknowledged: 5000, failed: 0, dropped: 0, abandoned: 0 },
    resultAdds: { added: 5000, duplicated: 0 },
    delayedAtLastResult: 0,
    correctness: { ok: true, problemCount: 0, problems: [] },
    ...overrides,
  };
}

function report(modes: ModeReport[]): BenchReport {
  return {
    date: '2026-06-01T12:00:00.000Z',
    machine: {
      cpuModel: 'Test CPU @ 3.0GHz',
      cores: 2,
      memoryBytes: 8 * 1024 ** 3,
      node: 'v20.20.2',
      redis: '7.0.15',
      os: 'linux 6.8.0',
      loadAverage: [0.5, 0.4, 0.3],
    },
    settings: { orders: 5000, modes: modes.map((m) => m.mode), concurrency: 64, workers: 2, batchSize: 1000, seed: 1 },
    ceiling: { jobs: 5000, workers: 2, concurrency: 64, addPerSecond: 40_000, addMs: 125, processPerSecond: 6000, processMs: 833, endToEndPerSecond: 5000, endToEndMs: 1000 },
    modes,
    ok: modes.every((m) => m.correctness.ok),
  };
}

/** The markdown table rows of the section headed `## <title>`. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`## ${title}\n`);
  if (start < 0) throw new Error(`no section ${title}`);
  const next = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, next < 0 ? undefined : next);
}

describe('renderBenchMarkdown', () => {
  const markdown = renderBenchMarkdown(
    report([
      modeReport('webhook'),
      modeReport('polling', { ordersPerSecond: 900, callsPerPlacedOrder: { token: 0, balance: 0.001, create: 1, lookup: 1.5, total: 2.501 } }),
      modeReport('realistic', { settleToResultMs: null }),
    ]),
  );

  it('has a section with a figure table for every mode, the ceiling and the machine', () => {
    for (const title of ['webhook', 'polling', 'realistic', 'BullMQ ceiling (no-op jobs, same Redis)', 'Machine']) {
      expect(section(markdown, title)).toContain('|---|');
    }
  });

  it('shows every figure of a mode', () => {
    const webhook = section(markdown, 'webhook');
    expect(webhook).toContain('**1250 orders/s** (5000 results in 4.00 s)');
    expect(webhook).toContain('0.250 of end-to-end no-op jobs/s');
    expect(webhook).toContain('1.001 (token 0.0002, balance 0.0010, create 1.000, lookup 0.000) over 5000 placed');
    expect(webhook).toContain('60.0 (300000 in all; 7.00 of them Lua scripts per order)');
    // A '|' inside a cell would split the table row.
    expect(webhook).toContain('evalsha 7.00 · client\\|setname 0.00');
    expect(webhook).toContain('240.0 µs');
    expect(webhook).toContain('p50 4 ms, p95 12 ms, p99 30 ms (max 80 ms, 5000 orders)');
    expect(webhook).toContain('webhook-1 80 MB, worker-1 150 MB, worker-2 n/a');
    expect(webhook).toContain('3.0 KB (intent job 1.0 KB, result job 1.5 KB, ledger record 2.0 KB, tombstone n/a)');
    expect(webhook).toContain('5000 of 5000: completed 4000, partial 500, failed 500');
    expect(webhook).toContain('every merchant_order_id has exactly one result; all match the sandbox');
    expect(webhook).toContain('5000 added, 0 re-added as duplicates (1 adds per result)');
    expect(webhook).toMatch(/intent jobs still delayed at the last result \| 0 \| 0 \(placed orders are handed off: their jobs complete\)/);
    expect(webhook).toContain(`WORKER_CONCURRENCY=64 LOG_LEVEL=${BENCH_LOG_LEVEL}`);
  });

  it('shows targets next to the figures they apply to, met or missed', () => {
    const webhook = section(markdown, 'webhook');
    expect(webhook).toContain('≥ 1000 (met)');
    expect(webhook).toContain('≤ 1.1 (met)');
    expect(webhook).toContain('p99 ≤ 50 ms (met)');
    const polling = section(markdown, 'polling');
    expect(polling).toContain('≤ 2.2 (missed)');
    expect(polling).not.toContain('≥ 1000');
    expect(section(markdown, 'realistic')).not.toMatch(/\((met|missed)\)/);
  });

  it('shows the ceiling’s add, process and end-to-end rates and the machine', () => {
    const ceiling = section(markdown, 'BullMQ ceiling (no-op jobs, same Redis)');
    expect(ceiling).toContain('40000 jobs/s (5000 in 125 ms)');
    expect(ceiling).toContain('6000 jobs/s (5000 in 833 ms)');
    expect(ceiling).toContain('**5000 jobs/s** (5000 in 1.00 s)');
    const machine = section(markdown, 'Machine');
    for (const text of ['Test CPU @ 3.0GHz, 2 cores', '8.0 GiB', 'v20.20.2', '7.0.15', '2026-06-01T12:00:00.000Z']) expect(machine).toContain(text);
  });

  it('says n/a for a figure with no samples', () => {
    expect(section(markdown, 'realistic')).toMatch(/settle → result .*\| n\/a \|/);
  });

  it('flags a mode whose results were wrong, in the summary and its own table', () => {
    const failed = renderBenchMarkdown(
      report([modeReport('webhook', { correctness: { ok: false, problemCount: 2, problems: ['bench-webhook-1: no result', 'x: status failed ≠ sandbox completed'] } })]),
    );
    expect(failed).toContain('**some mode FAILED its correctness check**');
    expect(section(failed, 'webhook')).toContain('**FAILED**: 2 problem(s), e.g. bench-webhook-1: no result; x: status failed ≠ sandbox completed');
    expect(failed).toMatch(/\| webhook \| 1250 \|.*\| \*\*no\*\* \|/);
  });

  it('has the per-step section when the step tracer ran, and none when it was skipped', () => {
    expect(markdown).not.toContain('Where the commands go');
    const withSteps = renderBenchMarkdown({ ...report([modeReport('webhook')]), steps: stepsReport() });
    const steps = section(withSteps, 'Where the commands go (per step)');
    expect(steps).toContain('| claim | 4 | 4.25 | 1 | 1.10 | 28 | 30.0 | hset 2 + evalsha 1 + hmget 1 | 20/20 |');
    // The ceiling and machine sections still follow.
    expect(section(withSteps, 'Machine')).toContain('|---|');
  });
});

describe('writeBenchResults', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('writes latest.json and latest.md into a directory it creates, leaving no temp file', async () => {
    dir = mkdtempSync(join(tmpdir(), 'bench-out-'));
    const out = join(dir, 'nested', 'results');
    const r = report([modeReport('webhook')]);
    const paths = await writeBenchResults(out, r, '# report');
    expect(paths).toEqual({ json: join(out, 'latest.json'), markdown: join(out, 'latest.md') });
    expect(JSON.parse(readFileSync(paths.json, 'utf8'))).toEqual(r);
    expect(readFileSync(paths.markdown, 'utf8')).toBe('# report\n');
    expect(readdirSync(out).sort()).toEqual(['latest.json', 'latest.md']);
  });
});
