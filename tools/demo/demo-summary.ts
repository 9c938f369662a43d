import type { OrderResult, ResultStatus } from '../../src/lifecycle/order-state.js';
import type { SandboxOrderRecord, SandboxStats } from '../../src/sandbox/sandbox-types.js';
import { invalidSampleNotes, type SampleIntent } from '../samples/sample-intents.js';
import { checkResults } from '../checks/result-check.js';
import {
  callsPerPlacedOrder,
  durationPercentiles,
  formatMs,
  nonZeroCounts,
  perSecond,
  reportRow,
  RESULT_STATUSES,
  tallyByStatus,
  type CallsPerOrder,
  type DurationPercentiles,
} from '../figures/run-figures.js';

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
  timeToResultMs: DurationPercentiles | null;
  /** Sandbox settle time (`settledAtMs`) to the result's `resolved_at`, over placed orders with a terminal result. */
  settleToResultMs: DurationPercentiles | null;
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
  /** Resolutions of `unresolved` results, by merchant_order_id (none when omitted). */
  resolutions?: ReadonlyMap<string, OrderResult>;
  /** Result jobs in `order-results`, resolutions included: more means some merchant_order_id got two. */
  resultJobs: number;
  sandboxOrders: readonly SandboxOrderRecord[];
  stats: SandboxStats;
  /** Why the wait for results gave up (timeout, crashed process), or null when every result came in. */
  waitFailure: string | null;
}

/** Compute the demo's summary and its verdict. Pure. */
export function summarizeDemo(run: DemoRun): DemoSummary {
  const byStatus = tallyByStatus(run.results.values());
  let lastResultAtMs = run.firstEnqueueAtMs;
  const toResult: number[] = [];
  for (const result of run.results.values()) {
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
  const durationMs = Math.max(1, lastResultAtMs - run.firstEnqueueAtMs);

  const { problems } = checkResults(
    { expected: run.expected, results: run.results, sandboxOrders: run.sandboxOrders, resultJobs: run.resultJobs, ...(run.resolutions ? { resolutions: run.resolutions } : {}) },
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
    callsPerPlacedOrder: callsPerPlacedOrder(run.stats.calls, placedOrders),
    durationMs,
    ordersPerSecond: perSecond(run.results.size, durationMs, 1),
    timeToResultMs: durationPercentiles(toResult),
    settleToResultMs: durationPercentiles(settleToResult),
    faults: run.stats.faults,
    webhooks: run.stats.webhooks,
    timedOut: run.waitFailure !== null,
  };
}

function row(label: string, value: string): string {
  return reportRow(label, value, 22);
}

/** The summary as a plain-text table (for stdout). */
export function renderDemoSummary(s: DemoSummary): string {
  const lines: string[] = [];
  lines.push('', `voodoo-fulfillment demo: ${s.intents} intents, ${s.expected} distinct merchant_order_ids, ${s.workers} workers, seed ${s.seed}`, '');
  lines.push('  results by status');
  for (const status of RESULT_STATUSES) {
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
  lines.push(row('throughput', `${s.ordersPerSecond} orders/s (${s.results} results, first enqueue → last result: ${formatMs(s.durationMs)})`));
  const t = s.timeToResultMs;
  lines.push(row('time to result', t === null ? 'n/a' : `p50 ${formatMs(t.p50)}, p99 ${formatMs(t.p99)} (enqueue → result resolved_at)`));
  const st = s.settleToResultMs;
  lines.push(row('settle to result', st === null ? 'n/a' : `p50 ${formatMs(st.p50)}, p99 ${formatMs(st.p99)} (sandbox settledAtMs → result resolved_at)`));
  const faults = nonZeroCounts(s.faults).map(([name, n]) => `${name} ${n}`);
  lines.push(row('faults injected', faults.length === 0 ? 'none' : faults.join(', ')));
  const w = s.webhooks;
  lines.push(row('webhooks', `${w.sent} sent, ${w.acknowledged} acknowledged, ${w.failed} failed, ${w.dropped} dropped`));
  lines.push('', `  check: every merchant_order_id has exactly one result; results match the sandbox: ${s.ok ? 'yes' : 'no'}`, '');
  return lines.join('\n');
}
