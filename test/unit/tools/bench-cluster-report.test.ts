import { describe, expect, it } from 'vitest';
import { balancedClusterPrefix, createdSlotRanges, partitionsPerPrimary } from '../../../tools/bench/balanced-prefix.js';
import {
  clusterRedisUsage,
  renderClusterBenchMarkdown,
  spreadOf,
  type ClusterBenchReport,
  type ClusterNodeReading,
} from '../../../tools/bench/cluster-report.js';
import type { RedisSnapshot } from '../../../tools/bench/redis-stats.js';

function snapshot(evalsha: number, hset: number, cpuSeconds: number): RedisSnapshot {
  return { commands: new Map([['evalsha', { calls: evalsha, usec: 0 }], ['hset', { calls: hset, usec: 0 }]]), cpuSeconds };
}

const zero = snapshot(0, 0, 0);

function reading(port: number, role: 'primary' | 'replica', partitions: number, after: RedisSnapshot | null): ClusterNodeReading {
  return { port, role, partitions, before: zero, after };
}

describe('when the cluster bench sums its nodes', () => {
  const readings = [
    reading(1, 'primary', 2, snapshot(1_000, 9_000, 0.5)),
    reading(2, 'primary', 2, snapshot(1_000, 10_000, 0.6)),
    reading(3, 'primary', 2, snapshot(1_000, 11_000, 0.7)),
    reading(4, 'replica', 0, snapshot(0, 5_000, 0.2)),
  ];

  it('adds commands and CPU over primaries only, per order', () => {
    const usage = clusterRedisUsage(readings, 1_000);
    expect(usage.complete).toBe(true);
    expect(usage.commands).toBe(33_000);
    expect(usage.commandsPerOrder).toBe(33);
    expect(usage.cpuUsPerOrder).toBe(1_800);
    expect(usage.replicaCpuUsPerOrder).toBe(200);
    expect(usage.nodes.map((n) => n.commands)).toEqual([10_000, 11_000, 12_000, 5_000]);
  });

  it('gives the spread of commands per primary against ±15 %', () => {
    const spread = clusterRedisUsage(readings, 1_000).commandSpread;
    expect(spread).toEqual({ mean: 11_000, min: 10_000, max: 12_000, maxAboveMean: 0.091, minBelowMean: 0.091, withinTarget: true });
  });

  it('leaves the sums out when a primary was killed, keeping the nodes still up', () => {
    const usage = clusterRedisUsage([...readings.slice(0, 2), reading(3, 'primary', 2, null)], 1_000);
    expect(usage.complete).toBe(false);
    expect(usage.commands).toBeNull();
    expect(usage.commandSpread).toBeNull();
    expect(usage.nodes[2]?.commands).toBeNull();
    expect(usage.nodes[0]?.commands).toBe(10_000);
  });
});

describe('when a spread is judged', () => {
  it('is outside the target when one primary carries more than 15 % above the mean', () => {
    expect(spreadOf([100, 100, 140])?.withinTarget).toBe(false);
    expect(spreadOf([100, 105, 110])?.withinTarget).toBe(true);
  });

  it('has no spread for no values or a zero mean', () => {
    expect(spreadOf([])).toBeNull();
    expect(spreadOf([0, 0])).toBeNull();
  });
});

describe('when the bench picks a cluster prefix', () => {
  it('splits the slots as redis-cli --cluster create does', () => {
    expect(createdSlotRanges(3)).toEqual([
      [0, 5460],
      [5461, 10922],
      [10923, 16383],
    ]);
  });

  it('puts the same number of partitions on every primary when the count divides evenly', () => {
    let n = 0;
    const prefix = balancedClusterPrefix('bench-cluster', 6, 3, () => String(n++));
    expect(prefix.startsWith('bench-cluster-')).toBe(true);
    expect(partitionsPerPrimary(prefix, 6, 3).partitions).toEqual([2, 2, 2]);
  });

  it('gives the primary of the fleet-wide area fewer partitions once there are enough to even out its extra work', () => {
    let n = 0;
    const prefix = balancedClusterPrefix('bench-cluster', 18, 3, () => String(n++));
    const { partitions, globalOn } = partitionsPerPrimary(prefix, 18, 3);
    expect(partitions.reduce((a, b) => a + b, 0)).toBe(18);
    expect(partitions[globalOn]).toBe(Math.min(...partitions));
    expect(Math.min(...partitions)).toBeLessThan(6);
  });
});

describe('when the cluster report is rendered', () => {
  const report: ClusterBenchReport = {
    date: '2026-11-27T20:00:00.000Z',
    machine: { cpuModel: 'Test CPU', cores: 2, memoryBytes: 4 * 1024 ** 3, os: 'linux', node: 'v20', redis: '7.0.15', loadAverage: [0, 0, 0] },
    settings: { orders: 1_000, partitions: 6, primaries: 3, replicasPerPrimary: 1, concurrency: 64, workers: 2, batchSize: 1_000, seed: 1, killPrimary: true },
    env: { WORKER_CONCURRENCY: '64' },
    orders: 1_000,
    results: 1_000,
    byStatus: { completed: 900, partial: 50, failed: 50, rejected: 0, unresolved: 0 },
    durationMs: 2_500,
    ordersPerSecond: 400,
    placedOrders: 1_000,
    redis: clusterRedisUsage([reading(1, 'primary', 2, snapshot(1_000, 9_000, 0.5)), reading(2, 'primary', 2, null)], 1_000),
    kill: { killedPort: 2, promotedPort: 5, partitions: 2, atResults: 500, failoverMs: 3_000 },
    correctness: { ok: true, problemCount: 0, problems: [] },
    ok: true,
  };

  it('names the kill and says why the sums are missing', () => {
    const md = renderClusterBenchMarkdown(report);
    expect(md).toContain('**400 orders/s**');
    expect(md).toContain('port 2 (serving 2 of 6 partitions) at 500 results; its replica on port 5 took over');
    expect(md).toContain("the killed primary's counters died with it");
    expect(md).toMatch(/\| 2 \| primary \| 2 \| n\/a \(killed\)/);
  });

  it('shows the per-primary spread when every node was read', () => {
    const md = renderClusterBenchMarkdown({
      ...report,
      kill: null,
      redis: clusterRedisUsage([reading(1, 'primary', 2, snapshot(0, 10_000, 0.5)), reading(2, 'primary', 2, snapshot(0, 16_000, 0.5))], 1_000),
    });
    expect(md).toContain('Redis commands / order (sum over primaries) | 26.0');
    expect(md).toContain('**outside** ±15.0 %');
  });
});
