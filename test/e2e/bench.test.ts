import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../tools/bench/bench-report.js';
import type { ClusterBenchReport } from '../../tools/bench/cluster-report.js';
import type { SoakReport } from '../../tools/bench/soak-report.js';
import type { OpenLoopReport } from '../../tools/bench/open-loop-report.js';
import type { StepCostsReport } from '../../tools/bench/step-costs-report.js';
import { registerBenchCommand } from '../../tools/cli/bench-command.js';
import { hasRedisServer } from '../../tools/fleet/private-redis.js';
import { hasRedisClusterTools } from '../../tools/fleet/private-redis-cluster.js';
import { captureStream } from '../support/capture-stream.js';

const ORDERS = 60;

let outDir: string | undefined;
afterEach(() => {
  if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
  outDir = undefined;
});

// The bench always starts a redis-server of its own, so its command counters are its alone.
describe.runIf(hasRedisServer())('voodoo-fulfillment bench', () => {
  it('runs every mode and the ceiling on a private Redis and reports every figure, with correct results', async () => {
    outDir = mkdtempSync(join(tmpdir(), 'bench-e2e-'));
    const out = captureStream();
    const err = captureStream();
    const exitCodes: number[] = [];
    const program = new Command('voodoo-fulfillment').exitOverride();
    registerBenchCommand(program, { out: out.stream, err: err.stream, setExitCode: (code) => exitCodes.push(code) });

    await program.parseAsync(['node', 'voodoo-fulfillment', 'bench', '--orders', String(ORDERS), '--concurrency', '16', '--step-orders', '5', '--out-dir', outDir]);

    expect(exitCodes, err.text()).toEqual([0]);
    expect(err.text()).toContain(`wrote ${join(outDir, 'latest.md')}`);
    const report = JSON.parse(readFileSync(join(outDir, 'latest.json'), 'utf8')) as BenchReport;
    const markdown = readFileSync(join(outDir, 'latest.md'), 'utf8');
    expect(out.text()).toBe(markdown);

    expect(report.ok).toBe(true);
    expect(report.settings).toMatchObject({ orders: ORDERS, concurrency: 16, workers: 2, modes: ['webhook', 'polling', 'realistic'] });
    expect(report.machine.node).toBe(process.version);
    expect(report.machine.redis).toMatch(/^\d+\.\d+/);
    expect(report.machine.cores).toBeGreaterThanOrEqual(1);

    const { ceiling } = report;
    expect(ceiling).toMatchObject({ jobs: ORDERS, workers: 2, concurrency: 16 });
    for (const rate of [ceiling.addPerSecond, ceiling.processPerSecond, ceiling.endToEndPerSecond]) expect(rate).toBeGreaterThan(0);

    expect(report.modes.map((m) => m.mode)).toEqual(['webhook', 'polling', 'realistic']);
    for (const mode of report.modes) {
      expect(mode.correctness).toEqual({ ok: true, problemCount: 0, problems: [] });
      expect(mode.results).toBe(ORDERS);
      expect(mode.placedOrders).toBe(ORDERS);
      expect(mode.ordersPerSecond).toBeGreaterThan(0);
      expect(mode.ratioToCeiling).toBeCloseTo(mode.ordersPerSecond / ceiling.endToEndPerSecond, 2);
      const calls = mode.callsPerPlacedOrder;
      if (calls === null) throw new Error(`${mode.mode}: no calls per order`);
      expect(calls.create).toBeGreaterThanOrEqual(1);
      expect(calls.total).toBeCloseTo(calls.token + calls.balance + calls.create + calls.lookup, 3);
      // Every order costs Redis something; the top list is the eight most called, most first.
      expect(mode.redis.commandsPerOrder).toBeGreaterThan(1);
      expect(mode.redis.top).toHaveLength(8);
      const topCalls = mode.redis.top.map((c) => c.calls);
      expect(topCalls).toEqual([...topCalls].sort((a, b) => b - a));
      const settle = mode.settleToResultMs;
      if (settle === null) throw new Error(`${mode.mode}: no settle → result figures`);
      expect(settle.samples).toBe(ORDERS);
      expect(settle.p50).toBeGreaterThanOrEqual(0);
      expect(settle.p50).toBeLessThanOrEqual(settle.p95);
      expect(settle.p95).toBeLessThanOrEqual(settle.p99);
      expect(settle.p99).toBeLessThanOrEqual(settle.max);
      const processes = mode.setup.receiver ? ['webhook-1', 'worker-1', 'worker-2'] : ['worker-1', 'worker-2'];
      expect(mode.peakRss.map((p) => p.process).sort()).toEqual(processes);
      for (const { bytes } of mode.peakRss) expect(bytes).toBeGreaterThan(10 * 1024 * 1024);
      expect(markdown).toContain(`## ${mode.mode}\n`);
    }

    const [webhook, polling, realistic] = report.modes;
    // Webhook modes learn outcomes from webhooks; polling mode from lookups, with no webhook sent.
    expect(webhook?.webhooks.acknowledged).toBe(ORDERS);
    expect(polling?.webhooks.sent).toBe(0);
    expect(polling?.callsPerPlacedOrder?.lookup).toBeGreaterThanOrEqual(1);
    expect(realistic?.setup.fulfilmentMs).toEqual({ min: 200, max: 2_000 });

    for (const text of ['## BullMQ ceiling', '## Machine', 'orders/s', 'API calls / placed order', 'Redis commands / order', 'settle → result', 'peak RSS']) {
      expect(markdown).toContain(text);
    }

    // The per-step trace ran first, on the same private Redis.
    expect(report.steps?.traces.map((t) => [t.mode, t.summary.orders])).toEqual([
      ['webhook', 5],
      ['polling', 5],
    ]);
    expect(markdown).toContain('## Where the commands go (per step)\n');
  });

  it('--steps runs only the per-step trace and writes steps.json and steps.md', async () => {
    outDir = mkdtempSync(join(tmpdir(), 'bench-steps-e2e-'));
    const out = captureStream();
    const err = captureStream();
    const exitCodes: number[] = [];
    const program = new Command('voodoo-fulfillment').exitOverride();
    registerBenchCommand(program, { out: out.stream, err: err.stream, setExitCode: (code) => exitCodes.push(code) });

    await program.parseAsync(['node', 'voodoo-fulfillment', 'bench', '--steps', '--step-orders', '3', '--out-dir', outDir]);

    expect(exitCodes, err.text()).toEqual([0]);
    const report = JSON.parse(readFileSync(join(outDir, 'steps.json'), 'utf8')) as StepCostsReport;
    expect(out.text()).toBe(readFileSync(join(outDir, 'steps.md'), 'utf8'));
    expect(report.traces.map((t) => t.mode)).toEqual(['webhook', 'polling']);
    for (const trace of report.traces) expect(trace.summary.steps.find((s) => s.step === 'claim')?.commands.median).toBeGreaterThan(0);
    expect(existsSync(join(outDir, 'latest.json'))).toBe(false);
  });
});

describe.runIf(hasRedisServer())('voodoo-fulfillment bench --soak', () => {
  it('feeds a bounded backlog, samples every process and Redis at each mark, and checks every result', async () => {
    outDir = mkdtempSync(join(tmpdir(), 'bench-soak-e2e-'));
    const out = captureStream();
    const err = captureStream();
    const exitCodes: number[] = [];
    const program = new Command('voodoo-fulfillment').exitOverride();
    registerBenchCommand(program, { out: out.stream, err: err.stream, setExitCode: (code) => exitCodes.push(code) });

    await program.parseAsync(['node', 'voodoo-fulfillment', 'bench', '--soak', '2000', '--soak-every', '500', '--batch-size', '250', '--concurrency', '16', '--out-dir', outDir]);

    expect(exitCodes, err.text()).toEqual([0]);
    const report = JSON.parse(readFileSync(join(outDir, 'soak-2000.json'), 'utf8')) as SoakReport;
    expect(out.text()).toBe(readFileSync(join(outDir, 'soak-2000.md'), 'utf8'));
    expect(report.correctness).toEqual({ ok: true, problemCount: 0, problems: [] });
    expect(report.results).toBe(2_000);
    expect(report.placedOrders).toBe(2_000);
    expect(report.settings).toMatchObject({ orders: 2_000, every: 500, workers: 2, concurrency: 16, batchSize: 250, maxOutstanding: 4_000 });
    expect(report.retention.retentionSeconds).toBe(7 * 24 * 60 * 60);
    expect(report.peakOutstanding).toBeLessThanOrEqual(report.settings.maxOutstanding);
    // The baseline, then a mark every 500 results, each sampled at or just past it.
    expect(report.marks.map((m) => m.mark)).toEqual([0, 500, 1_000, 1_500, 2_000]);
    for (const m of report.marks.slice(1)) {
      expect(m.results).toBeGreaterThanOrEqual(m.mark);
      expect(m.windowOrdersPerSecond ?? 0).toBeGreaterThan(0);
      expect(m.redis.bytesPerFinishedOrder ?? 0).toBeGreaterThan(500);
      expect(m.redis.keys).toBeGreaterThan(m.mark);
      expect(m.processes.map((p) => p.process)).toEqual(['worker-1', 'worker-2', 'webhook-1', 'bench']);
      for (const p of m.processes) {
        expect(p.rssBytes ?? 0).toBeGreaterThan(10 * 1024 * 1024);
        expect(p.heapUsedBytes ?? 0).toBeGreaterThan(1024 * 1024);
      }
    }
    // The reference mark is past 20 % and never the first: 1000 → 2000.
    expect(report.verdict).toMatchObject({ fromMark: expect.any(Number) as number, toMark: 2_000, tolerance: 0.1 });
    expect(report.verdict.fromMark ?? 0).toBeGreaterThanOrEqual(1_000);
    expect(report.verdict.workers.map((w) => w.process)).toEqual(['worker-1', 'worker-2']);
    for (const text of ['## Every mark', 'worker-1 RSS MB', 'Redis bytes / finished order', 'RETENTION_SECONDS 604800', '## Machine']) expect(out.text()).toContain(text);
  });
});

describe.runIf(hasRedisServer())('voodoo-fulfillment bench --rate (open loop)', () => {
  it('offers Poisson arrivals for a few seconds and reports the achieved rate and latencies, with correct results', async () => {
    outDir = mkdtempSync(join(tmpdir(), 'bench-open-loop-e2e-'));
    const out = captureStream();
    const err = captureStream();
    const exitCodes: number[] = [];
    const program = new Command('voodoo-fulfillment').exitOverride();
    registerBenchCommand(program, { out: out.stream, err: err.stream, setExitCode: (code) => exitCodes.push(code) });

    await program.parseAsync(['node', 'voodoo-fulfillment', 'bench', '--rate', '50', '--duration', '3', '--concurrency', '16', '--out-dir', outDir]);

    expect(exitCodes, err.text()).toEqual([0]);
    const report = JSON.parse(readFileSync(join(outDir, 'open-loop-50.json'), 'utf8')) as OpenLoopReport;
    expect(out.text()).toBe(readFileSync(join(outDir, 'open-loop-50.md'), 'utf8'));
    expect(report.ok).toBe(true);
    expect(report.settings).toMatchObject({ rates: [50], durationS: 3, warmUpS: 2, fulfilment: 'instant', faults: 'none', workers: 2, concurrency: 16 });
    const [rate] = report.rates;
    if (rate === undefined) throw new Error('no rate in the report');
    expect(rate.correctness).toEqual({ ok: true, problemCount: 0, problems: [] });
    expect(rate.results).toBe(rate.arrivals);
    expect(rate.throughput.achievedPerSecond).toBeGreaterThan(0);
    const e2r = rate.latency.enqueueToResultMs;
    const s2r = rate.latency.settleToResultMs;
    if (e2r === null || s2r === null) throw new Error('no latency figures');
    expect(e2r.samples).toBe(rate.measuredArrivals);
    expect(s2r.p99).toBeLessThanOrEqual(e2r.max);
    expect(rate.redis.commandsPerOrder).toBeGreaterThan(1);
  });

  it('refuses --rate with --rates, and --orders with --rate, naming the option', async () => {
    for (const [args, message] of [
      [['--rate', '10', '--rates', '10,20'], '--rate and --rates exclude each other'],
      [['--rate', '10', '--orders', '100'], '--orders is for the burst bench'],
    ] as const) {
      const err = captureStream();
      const exitCodes: number[] = [];
      const program = new Command('voodoo-fulfillment').exitOverride();
      registerBenchCommand(program, { out: captureStream().stream, err: err.stream, setExitCode: (code) => exitCodes.push(code) });
      await program.parseAsync(['node', 'voodoo-fulfillment', 'bench', ...args]);
      expect(exitCodes).toEqual([1]);
      expect(err.text()).toContain(message);
    }
  });
});

describe.runIf(hasRedisClusterTools())('voodoo-fulfillment bench --cluster', () => {
  it('runs the webhook mode on a private cluster with a primary killed half-way, with correct results and figures per primary', async () => {
    outDir = mkdtempSync(join(tmpdir(), 'bench-cluster-e2e-'));
    const out = captureStream();
    const err = captureStream();
    const exitCodes: number[] = [];
    const program = new Command('voodoo-fulfillment').exitOverride();
    registerBenchCommand(program, { out: out.stream, err: err.stream, setExitCode: (code) => exitCodes.push(code) });

    await program.parseAsync(['node', 'voodoo-fulfillment', 'bench', '--cluster', '--kill-primary', '--orders', '200', '--concurrency', '16', '--out-dir', outDir]);

    expect(exitCodes, err.text()).toEqual([0]);
    const report = JSON.parse(readFileSync(join(outDir, 'cluster-200-kill.json'), 'utf8')) as ClusterBenchReport;
    expect(out.text()).toBe(readFileSync(join(outDir, 'cluster-200-kill.md'), 'utf8'));
    expect(report.settings).toMatchObject({ orders: 200, partitions: 6, primaries: 3, killPrimary: true });
    expect(report.correctness).toEqual({ ok: true, problemCount: 0, problems: [] });
    expect(report.results).toBe(200);
    expect(report.kill?.atResults).toBeGreaterThanOrEqual(100);
    expect(report.kill?.promotedPort).not.toBe(report.kill?.killedPort);
    const primaries = report.redis.nodes.filter((n) => n.role === 'primary');
    expect(primaries.map((n) => n.partitions)).toEqual([2, 2, 2]);
    expect(primaries.filter((n) => n.commands === null).map((n) => n.port)).toEqual([report.kill?.killedPort]);
    expect(report.redis.complete).toBe(false);
  });

  it('refuses --kill-primary without --cluster', async () => {
    const err = captureStream();
    const exitCodes: number[] = [];
    const program = new Command('voodoo-fulfillment').exitOverride();
    registerBenchCommand(program, { out: captureStream().stream, err: err.stream, setExitCode: (code) => exitCodes.push(code) });

    await program.parseAsync(['node', 'voodoo-fulfillment', 'bench', '--kill-primary', '--orders', '10']);

    expect(exitCodes).toEqual([1]);
    expect(err.text()).toContain('--kill-primary needs --cluster');
  });
});
