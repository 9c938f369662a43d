import type { OrderResult, ResultStatus } from '../../src/lifecycle/order-state.js';
import type { SandboxOrderRecord, SandboxStats } from '../../src/sandbox/sandbox-types.js';
import { invalidSampleNotes, type SampleIntent } from '../samples/sample-intents.js';
import { checkResults } from '../checks/result-check.js';

/** 50th and 99th percentile of a set of durations, in ms. */
export interface Percentiles {
  p50: number;
  p99: number;
  /** How many samples they were taken over. */
  samples: number;
}

/** API calls the sandbox received, per placed order. */
export interface CallsPerOrder {
  token: number;
  balance: number;
  create: number;
  lookup: number;
  total: number;
}

/** Everything the demo reports at the end. */
export interface DemoSummary {
  /** True when every merchant_order_id has exactly one result, all match the sandbox, and nothing timed out. */
  ok: boolean;
  /** Why `ok` is false (empty when it is true). */
  problems: string[];
  seed: number;
  workers: number;
  /** Intent jobs enqueued (duplicates included). */
  intents: number;
  /** Distinct merchant_order_ids: the results expected. */
  expected: number;
  /** Results found. */
  results: number;
  byStatus: Record<ResultStatus, number>;
  /** The `unresolved` results (allowed, but worth a look), with the worker's reason and what the sandbox knows. */
  unresolved: { merchantOrderId: string; reason: string | null; sandboxStatus: string | null }[];
  /** Orders the sandbox created. */
  placedOrders: number;
  /** Calls per placed order; null when nothing was placed. */
  callsPerPlacedOrder: CallsPerOrder | null;
  /** First enqueue to last result (`resolved_at`), in ms. */
  durationMs: number;
  /** Results per second over `durationMs`. */
  ordersPerSecond: number;
  /** Enqueue time to the result's `resolved_at`, over every result. */
  timeToResultMs: Percentiles | null;
  /** Sandbox settle time (`settledAtMs`) to the result's `resolved_at`, over placed orders with a terminal result. */
  settleToResultMs: Percentiles | null;
  /** Faults the sandbox injected, by name. */
  faults: Record<string, number>;
  webhooks: SandboxStats['webhooks'];
  /** True when the wait for results gave up (timeout or a crashed process). */
  timedOut: boolean;
}

/** What {@link summarizeDemo} is computed from. */
export interface DemoRun {
  seed: number;
  workers: number;
  samples: readonly SampleIntent[];
  expected: readonly string[];
  enqueuedAtMs: ReadonlyMap<string, number>;
  firstEnqueueAtMs: number;
  results: ReadonlyMap<string, OrderResult>;
  /** Result jobs in `order-results`: more than `results.size` means some merchant_order_id got two. */
  resultJobs: number;
  sandboxOrders: readonly SandboxOrderRecord[];
  stats: SandboxStats;
  /** Why the wait for results gave up (timeout, crashed process), or null when every result came in. */
  waitFailure: string | null;
}

/** Nearest-rank percentiles; null for no samples. */
export function percentiles(values: readonly number[]): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
  return { p50: rank(0.5), p99: rank(0.99), samples: sorted.length };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Compute the demo's summary and its verdict. Pure. */
export function summarizeDemo(run: DemoRun): DemoSummary {
  const byStatus: Record<ResultStatus, number> = { completed: 0, partial: 0, failed: 0, rejected: 0, unresolved: 0 };
  let lastResultAtMs = run.firstEnqueueAtMs;
  const toResult: number[] = [];
  for (const result of run.results.values()) {
    byStatus[result.status] += 1;
    const resolvedAtMs = Date.parse(result.resolved_at);
    if (Number.isNaN(resolvedAtMs)) continue;
    lastResultAtMs = Math.max(lastResultAtMs, resolvedAtMs);
    const enqueuedAtMs = run.enqueuedAtMs.get(result.merchant_order_id);
    if (enqueuedAtMs !== undefined) toResult.push(resolvedAtMs - enqueuedAtMs);
  }
  const settledAt = new Map(run.sandboxOrders.map((o) => [o.merchantOrderId, o.settledAtMs]));
  const settleToResult: number[] = [];
  for (const result of run.results.values()) {
    if (result.status !== 'completed' && result.status !== 'partial' && result.status !== 'failed') continue;
    const settled = settledAt.get(result.merchant_order_id);
    const resolvedAtMs = Date.parse(result.resolved_at);
    if (settled !== undefined && settled !== null && !Number.isNaN(resolvedAtMs)) settleToResult.push(resolvedAtMs - settled);
  }

  const placedOrders = run.sandboxOrders.length;
  const calls = run.stats.calls;
  const totalCalls = calls.token + calls.balance + calls.create + calls.lookup;
  const per = (n: number): number => round(n / placedOrders, 3);
  const durationMs = Math.max(1, lastResultAtMs - run.firstEnqueueAtMs);

  const { problems } = checkResults(
    { expected: run.expected, results: run.results, sandboxOrders: run.sandboxOrders, resultJobs: run.resultJobs },
    { invalid: { mustReject: invalidSampleNotes(run.samples) } },
  );
  if (run.waitFailure !== null) problems.unshift(run.waitFailure.split('\n')[0] ?? run.waitFailure);

  return {
    ok: problems.length === 0,
    problems,
    seed: run.seed,
    workers: run.workers,
    intents: run.samples.length,
    expected: run.expected.length,
    results: run.results.size,
    byStatus,
    unresolved: [...run.results.values()]
      .filter((r) => r.status === 'unresolved')
      .map((r) => ({
        merchantOrderId: r.merchant_order_id,
        reason: r.error_message ?? r.error,
        sandboxStatus: run.sandboxOrders.find((o) => o.merchantOrderId === r.merchant_order_id)?.status ?? null,
      })),
    placedOrders,
    callsPerPlacedOrder:
      placedOrders === 0
        ? null
        : { token: per(calls.token), balance: per(calls.balance), create: per(calls.create), lookup: per(calls.lookup), total: per(totalCalls) },
    durationMs,
    ordersPerSecond: round((run.results.size * 1000) / durationMs, 1),
    timeToResultMs: percentiles(toResult),
    settleToResultMs: percentiles(settleToResult),
    faults: run.stats.faults,
    webhooks: run.stats.webhooks,
    timedOut: run.waitFailure !== null,
  };
}

function ms(value: number): string {
  return value >= 10_000 ? `${round(value / 1000, 1)} s` : value >= 1000 ? `${round(value / 1000, 2)} s` : `${Math.round(value)} ms`;
}

function row(label: string, value: string): string {
  return `  ${label.padEnd(22)}${value}`;
}

/** The summary as a plain-text table (for stdout). */
export function renderDemoSummary(s: DemoSummary): string {
  const lines: string[] = [];
  lines.push('', `voodoo-fulfillment demo: ${s.intents} intents, ${s.expected} distinct merchant_order_ids, ${s.workers} workers, seed ${s.seed}`, '');
  lines.push('  results by status');
  for (const status of ['completed', 'partial', 'failed', 'rejected', 'unresolved'] as const) {
    lines.push(row(`    ${status}`, String(s.byStatus[status]).padStart(6)));
  }
  lines.push(row('    total', `${String(s.results).padStart(6)} of ${s.expected} expected`));
  for (const u of s.unresolved.slice(0, 5)) {
    const truth = u.sandboxStatus === null ? 'the sandbox has no order' : `the sandbox's order is ${u.sandboxStatus}`;
    lines.push(`    unresolved ${u.merchantOrderId} (${truth}): ${u.reason ?? 'no reason given'}`);
  }
  if (s.unresolved.length > 5) lines.push(`    … and ${s.unresolved.length - 5} more unresolved`);
  lines.push('');
  const c = s.callsPerPlacedOrder;
  lines.push(
    row(
      'API calls / order',
      c === null
        ? 'no order placed'
        : `${c.total} (token ${c.token}, balance ${c.balance}, create ${c.create}, lookup ${c.lookup}) over ${s.placedOrders} placed orders`,
    ),
  );
  lines.push(row('throughput', `${s.ordersPerSecond} orders/s (${s.results} results, first enqueue → last result: ${ms(s.durationMs)})`));
  const t = s.timeToResultMs;
  lines.push(row('time to result', t === null ? 'n/a' : `p50 ${ms(t.p50)}, p99 ${ms(t.p99)} (enqueue → result resolved_at)`));
  const st = s.settleToResultMs;
  lines.push(row('settle to result', st === null ? 'n/a' : `p50 ${ms(st.p50)}, p99 ${ms(st.p99)} (sandbox settledAtMs → result resolved_at)`));
  const faults = Object.entries(s.faults)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${name} ${n}`);
  lines.push(row('faults injected', faults.length === 0 ? 'none' : faults.join(', ')));
  const w = s.webhooks;
  lines.push(row('webhooks', `${w.sent} sent, ${w.acknowledged} acknowledged, ${w.failed} failed, ${w.dropped} dropped`));
  lines.push('', `  check: every merchant_order_id has exactly one result; results match the sandbox: ${s.ok ? 'yes' : 'no'}`, '');
  return lines.join('\n');
}
