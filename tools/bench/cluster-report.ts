import type { ResultStatus } from '../../src/lifecycle/order-state.js';
import { formatMs, RESULT_STATUSES, round } from '../figures/run-figures.js';
import type { Correctness } from './bench-report.js';
import type { MachineInfo } from './machine-info.js';
import { redisUsage, type RedisSnapshot } from './redis-stats.js';

/** The spread a cluster's primaries may show around their mean (commands per primary), as a fraction: ±15 %. */
export const CLUSTER_SPREAD_TARGET = 0.15;

/** One node's counters around the measured stretch, as the cluster bench read them. */
export interface ClusterNodeReading {
  port: number;
  /** Role when the run started. */
  role: 'primary' | 'replica';
  /** Partitions whose hash slot the node served when the run started (0 for a replica). */
  partitions: number;
  before: RedisSnapshot;
  /** Null when the node was no longer readable at the end (the primary killed mid-run). */
  after: RedisSnapshot | null;
}

/** One node's figures over the run. */
export interface ClusterNodeUsage {
  port: number;
  role: 'primary' | 'replica';
  partitions: number;
  /** Commands executed (script-run commands counted one each, as in the standalone bench); null when killed. */
  commands: number | null;
  commandsPerOrder: number | null;
  /** Redis server CPU (user + sys), in seconds; null when killed. */
  cpuSeconds: number | null;
  /** Redis server CPU per order, in µs; null when killed. */
  cpuUsPerOrder: number | null;
}

/** How evenly a quantity spreads over the primaries. */
export interface Spread {
  mean: number;
  min: number;
  max: number;
  /** max ÷ mean − 1, e.g. 0.08 = 8 % above the mean. */
  maxAboveMean: number;
  /** 1 − min ÷ mean, e.g. 0.05 = 5 % below the mean. */
  minBelowMean: number;
  /** Both within {@link CLUSTER_SPREAD_TARGET}. */
  withinTarget: boolean;
}

/** Redis figures of a cluster run, summed over primaries. */
export interface ClusterRedisUsage {
  /**
   * False when some primary's counters were lost (killed mid-run): then the sums and the spread
   * below are left out, only the per-node figures of the nodes still up are given.
   */
  complete: boolean;
  /** Commands over every primary. Null when not complete. */
  commands: number | null;
  commandsPerOrder: number | null;
  /** Redis CPU over every primary, in seconds. Null when not complete. */
  cpuSeconds: number | null;
  cpuUsPerOrder: number | null;
  /** Redis CPU over every replica (replication applies the writes), per order, in µs. Null when not complete. */
  replicaCpuUsPerOrder: number | null;
  /** Spread of commands across primaries. Null when not complete. */
  commandSpread: Spread | null;
  /** Spread of Redis CPU across primaries. Null when not complete. */
  cpuSpread: Spread | null;
  nodes: ClusterNodeUsage[];
}

/** What the primary kill did, when the run had one. */
export interface ClusterKill {
  killedPort: number;
  promotedPort: number;
  /** Partitions the killed primary served. */
  partitions: number;
  /** Results already in when it was killed. */
  atResults: number;
  /** SIGKILL → every node says `cluster_state:ok`, in ms. */
  failoverMs: number;
}

/** A whole `bench --cluster` run: what cluster-*.json holds. */
export interface ClusterBenchReport {
  /** When the run started, ISO 8601. */
  date: string;
  machine: MachineInfo;
  settings: {
    orders: number;
    /** QUEUE_PARTITIONS. */
    partitions: number;
    primaries: number;
    replicasPerPrimary: number;
    concurrency: number;
    workers: number;
    batchSize: number;
    seed: number;
    killPrimary: boolean;
  };
  /** Worker configuration the bench set (the rest at production defaults). */
  env: Record<string, string>;
  orders: number;
  results: number;
  byStatus: Record<ResultStatus, number>;
  /** First enqueue → the last result job's `timestamp`, in ms. */
  durationMs: number;
  ordersPerSecond: number;
  placedOrders: number;
  redis: ClusterRedisUsage;
  kill: ClusterKill | null;
  correctness: Correctness;
  /** Every check passed. */
  ok: boolean;
}

/** How `values` spread around their mean; null for none or a zero mean. */
export function spreadOf(values: readonly number[], tolerance = CLUSTER_SPREAD_TARGET): Spread | null {
  if (values.length === 0) return null;
  const mean = values.reduce((a, v) => a + v, 0) / values.length;
  if (mean <= 0) return null;
  const min = Math.min(...values);
  const max = Math.max(...values);
  const maxAboveMean = max / mean - 1;
  const minBelowMean = 1 - min / mean;
  return {
    mean: round(mean, 1),
    min,
    max,
    maxAboveMean: round(maxAboveMean, 3),
    minBelowMean: round(minBelowMean, 3),
    withinTarget: maxAboveMean <= tolerance && minBelowMean <= tolerance,
  };
}

/** Per-node figures and the sums over primaries, from readings around a run of `orders` orders. */
export function clusterRedisUsage(readings: readonly ClusterNodeReading[], orders: number): ClusterRedisUsage {
  const nodes: ClusterNodeUsage[] = readings.map((r) => {
    if (r.after === null) {
      return { port: r.port, role: r.role, partitions: r.partitions, commands: null, commandsPerOrder: null, cpuSeconds: null, cpuUsPerOrder: null };
    }
    const u = redisUsage(r.before, r.after, orders);
    return { port: r.port, role: r.role, partitions: r.partitions, commands: u.commands, commandsPerOrder: u.commandsPerOrder, cpuSeconds: u.cpuSeconds, cpuUsPerOrder: u.cpuUsPerOrder };
  });
  const primaries = nodes.filter((n) => n.role === 'primary');
  const replicas = nodes.filter((n) => n.role === 'replica');
  const complete = readings.every((r) => r.after !== null);
  if (!complete) {
    return { complete, commands: null, commandsPerOrder: null, cpuSeconds: null, cpuUsPerOrder: null, replicaCpuUsPerOrder: null, commandSpread: null, cpuSpread: null, nodes };
  }
  const sum = (list: readonly ClusterNodeUsage[], pick: (n: ClusterNodeUsage) => number | null): number => list.reduce((a, n) => a + (pick(n) ?? 0), 0);
  const commands = sum(primaries, (n) => n.commands);
  const cpuSeconds = sum(primaries, (n) => n.cpuSeconds);
  const replicaCpuSeconds = sum(replicas, (n) => n.cpuSeconds);
  const perOrderUs = (seconds: number): number => (orders > 0 ? round((seconds * 1e6) / orders, 1) : 0);
  return {
    complete,
    commands,
    commandsPerOrder: orders > 0 ? round(commands / orders, 2) : 0,
    cpuSeconds: round(cpuSeconds, 3),
    cpuUsPerOrder: perOrderUs(cpuSeconds),
    replicaCpuUsPerOrder: perOrderUs(replicaCpuSeconds),
    commandSpread: spreadOf(primaries.map((n) => n.commands ?? 0)),
    cpuSpread: spreadOf(primaries.map((n) => n.cpuSeconds ?? 0)),
    nodes,
  };
}

function pct(fraction: number): string {
  return `${(fraction * 100).toFixed(1)} %`;
}

function spreadText(s: Spread | null, unit: string): string {
  if (s === null) return 'n/a';
  return `mean ${s.mean} ${unit}, min ${s.min} (−${pct(s.minBelowMean)}), max ${s.max} (+${pct(s.maxAboveMean)}): ${s.withinTarget ? 'within' : '**outside**'} ±${pct(CLUSTER_SPREAD_TARGET)}`;
}

function orNa(value: number | null, digits: number): string {
  return value === null ? 'n/a (killed)' : value.toFixed(digits);
}

function row(cells: readonly string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

/** The cluster run as markdown: summary, the per-primary table, the kill, the machine. */
export function renderClusterBenchMarkdown(r: ClusterBenchReport): string {
  const s = r.settings;
  const u = r.redis;
  const statuses = RESULT_STATUSES.filter((st) => r.byStatus[st] > 0).map((st) => `${st} ${r.byStatus[st]}`).join(', ');
  const lines: string[] = [
    `# voodoo-fulfillment bench on a Redis Cluster, ${r.date}`,
    '',
    `Webhook mode, ${s.orders} orders, QUEUE_PARTITIONS=${s.partitions} on a private local cluster of ${s.primaries} primaries + ${s.primaries * s.replicasPerPrimary} replicas, ` +
      `${s.workers} worker processes × concurrency ${s.concurrency}, the receiver as a process, the sandbox in the bench process (no API latency, no faults)` +
      `${s.killPrimary ? ', **a primary SIGKILLed once half the results were in**' : ''}. ` +
      `Result: ${r.ok ? 'correct' : '**FAILED its correctness check**'}.`,
    '',
    '| figure | value |',
    '|---|---|',
    row(['throughput (first enqueue → last result)', `**${r.ordersPerSecond.toFixed(0)} orders/s** (${r.results} results in ${formatMs(r.durationMs)})`]),
    row(['results', `${r.results} of ${r.orders}${statuses === '' ? '' : `: ${statuses}`}; ${r.placedOrders} orders placed in the sandbox`]),
    row([
      'correctness',
      r.correctness.ok
        ? 'every merchant_order_id has exactly one result matching the sandbox; none charged twice'
        : `**FAILED**: ${r.correctness.problemCount} problem(s), e.g. ${r.correctness.problems.slice(0, 3).join('; ')}`,
    ]),
  ];
  if (u.complete) {
    lines.push(
      row(['Redis commands / order (sum over primaries)', `${(u.commandsPerOrder ?? 0).toFixed(1)} (${u.commands ?? 0} in all)`]),
      row(['commands per primary', spreadText(u.commandSpread, 'commands')]),
      row(['Redis CPU / order (sum over primaries)', `${(u.cpuUsPerOrder ?? 0).toFixed(1)} µs (${(u.cpuSeconds ?? 0).toFixed(2)} s in all); replicas ${(u.replicaCpuUsPerOrder ?? 0).toFixed(1)} µs more`]),
      row(['Redis CPU per primary', spreadText(u.cpuSpread, 's')]),
    );
  } else {
    lines.push(row(['Redis commands and CPU', "not summed: the killed primary's counters died with it (per-node figures of the nodes still up below)"]));
  }
  if (r.kill !== null) {
    const k = r.kill;
    lines.push(
      row([
        'primary killed',
        `port ${k.killedPort} (serving ${k.partitions} of ${s.partitions} partitions) at ${k.atResults} results; its replica on port ${k.promotedPort} took over, cluster_state:ok after ${formatMs(k.failoverMs)}`,
      ]),
    );
  }
  lines.push(
    '',
    '## Per node',
    '',
    '| node | role at start | partitions | commands | commands / order | Redis CPU | CPU / order |',
    '|---|---|---|---|---|---|---|',
    ...u.nodes.map((n) =>
      row([
        String(n.port),
        n.role,
        String(n.partitions),
        n.commands === null ? 'n/a (killed)' : String(n.commands),
        orNa(n.commandsPerOrder, 2),
        n.cpuSeconds === null ? 'n/a (killed)' : `${n.cpuSeconds.toFixed(2)} s`,
        n.cpuUsPerOrder === null ? 'n/a (killed)' : `${n.cpuUsPerOrder.toFixed(1)} µs`,
      ]),
    ),
    '',
    `Worker env: ${Object.entries(r.env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}.`,
    '',
    '## How the figures are taken',
    '',
    '- orders/s: results ÷ (first enqueue → the latest result job `timestamp`).',
    '- Redis: `INFO commandstats` and `INFO cpu` of every node, read just before the first enqueue and once every intent job has finished; ' +
      'commands a Lua script runs count one each besides the EVALSHA (as in the standalone bench). A replica also executes its primary\'s ' +
      'writes: those are its CPU, not counted in the primaries\' sums. Partitions of a primary: which node serves each partition\'s hash slot at the start; ' +
      'the fleet-wide area `{<prefix>-global}` lives on one of them too.',
    '- Correctness: tools/checks/result-check.ts over every partition\'s results and the sandbox\'s orders.',
    `- Every node, the workers, the receiver and the sandbox share one machine (${r.machine.cores} cores, ${r.machine.cpuModel}): ` +
      'the orders/s is this machine\'s, not a cluster\'s; the per-order counts and CPU are what carries over.',
    '',
  );
  return lines.join('\n');
}
