import type { OrderResult, ResultStatus } from '../../src/lifecycle/order-state.js';
import type { SandboxOrderRecord, SandboxStats } from '../../src/sandbox/sandbox-types.js';
import {
  balanceProblems,
  emittedProblems,
  invalidIntentProblems,
  INVALID_REJECTION_LIMIT_MS,
  logProblems,
  ordersByMerchantOrderId,
  resultCountProblems,
  resultMatchProblems,
  sandboxOrderProblems,
  unresolvedProblems,
  type AllowedUnresolved,
  type BalanceFigures,
  type FailedIntentJob,
  type InvalidIntentFigures,
  type UnresolvedBreakdown,
} from './chaos-checks.js';
import type { LogFacts } from './chaos-log-facts.js';
import type { LogLeak } from './chaos-log-scan.js';
import type { ChaosActions } from './chaos-monkey.js';

/** Everything a chaos run observed, as {@link summarizeChaos} takes it. */
export interface ChaosObservations {
  seed: number;
  workers: number;
  /** Intent jobs enqueued (duplicates included). */
  intents: number;
  /** Distinct merchant_order_ids: one result each is expected. */
  expected: readonly string[];
  /** merchant_order_ids of the intents meant to be rejected (invalid on purpose). */
  mustReject: ReadonlySet<string>;
  /** When each merchant_order_id was first enqueued, epoch ms. */
  enqueuedAtMs: ReadonlyMap<string, number>;
  results: ReadonlyMap<string, OrderResult>;
  /** Jobs in `order-results`. */
  resultJobs: number;
  failedIntentJobs: readonly FailedIntentJob[];
  /** Intent jobs taken over from a dead worker at least once (BullMQ's stalledCounter > 0). */
  recoveredIntentJobs: number;
  sandboxOrders: readonly SandboxOrderRecord[];
  stats: SandboxStats;
  balance: BalanceFigures;
  actions: ChaosActions;
  facts: LogFacts;
  leaks: readonly LogLeak[];
  droppedLeaks: number;
  /** Log lines the scanner saw, and the lines each process wrote, by process name. */
  linesScanned: ReadonlyMap<string, number>;
  linesWritten: ReadonlyMap<string, number>;
  /** Processes that exited without the run stopping them. */
  crashed: readonly string[];
  /** Why waiting for the results gave up, or null. */
  waitFailure: string | null;
  /** First enqueue to the end of the wait, in ms. */
  durationMs: number;
  /** The fault mix and schedule, for the report; `catalog`: the workers ran with the sample catalog (invalid intents never reach the API). */
  plan: { killEveryMs: number; burstEveryMs: number; burstMs: number; redisDownMs: number; lockMs: number; resolveTimeoutMs: number; catalog: boolean };
}

/** The verdict and figures of a chaos run. */
export interface ChaosSummary {
  /** True when no problem was found. */
  ok: boolean;
  problems: string[];
  seed: number;
  workers: number;
  intents: number;
  expected: number;
  results: number;
  byStatus: Record<ResultStatus, number>;
  /** `unresolved` results by cause; only `webhook_dropped` is allowed, the others are problems as well. */
  unresolved: UnresolvedBreakdown;
  /** How the invalid intents fared (each must end `rejected` within the limit). */
  invalidIntents: InvalidIntentFigures;
  /** The allowed `unresolved` results themselves (look them up in the run's log file). */
  unresolvedOrders: AllowedUnresolved[];
  placedOrders: number;
  /** Most orders the sandbox holds for one merchant_order_id (must be ≤ 1). */
  maxOrdersPerMerchantOrderId: number;
  money: { initial: number; charged: number; refunded: number; final: number };
  /** Faults the sandbox injected, by name. */
  faults: Record<string, number>;
  actions: ChaosActions;
  webhooks: SandboxStats['webhooks'];
  /** Creates a worker reported as ambiguous (distinct merchant_order_ids). */
  ambiguousCreates: number;
  recoveredIntentJobs: number;
  logLines: number;
  /** Log lines that were not JSON (stack traces, runtime warnings): worth a look when not 0. */
  nonJsonLogLines: number;
  leaks: number;
  durationMs: number;
  plan: ChaosObservations['plan'];
}

/** Run every check over a chaos run's observations and gather its figures. Pure. */
export function summarizeChaos(run: ChaosObservations): ChaosSummary {
  const byStatus: Record<ResultStatus, number> = { completed: 0, partial: 0, failed: 0, rejected: 0, unresolved: 0 };
  for (const result of run.results.values()) byStatus[result.status] += 1;
  const unresolved = unresolvedProblems(run.results, run.sandboxOrders, run.facts);
  const invalid = invalidIntentProblems(run.results, run.mustReject, run.enqueuedAtMs, run.facts, INVALID_REJECTION_LIMIT_MS);

  const problems: string[] = [];
  if (run.waitFailure !== null) problems.push(run.waitFailure.split('\n')[0] ?? run.waitFailure);
  for (const name of run.crashed) problems.push(`${name} exited without being stopped`);
  problems.push(...run.actions.failures);
  problems.push(
    ...resultCountProblems(run.expected, run.results, run.resultJobs, run.failedIntentJobs),
    ...sandboxOrderProblems(run.expected, run.results, run.sandboxOrders),
    ...resultMatchProblems(run.results, run.sandboxOrders, run.mustReject),
    ...invalid.problems,
    ...unresolved.problems,
    ...balanceProblems(run.balance, run.stats, run.sandboxOrders),
    ...logProblems({ leaks: run.leaks, droppedLeaks: run.droppedLeaks, scanned: run.linesScanned, written: run.linesWritten }),
    ...emittedProblems(run.results, run.facts, run.stats.webhooks.acknowledged),
  );

  let maxOrders = 0;
  for (const list of ordersByMerchantOrderId(run.sandboxOrders).values()) maxOrders = Math.max(maxOrders, list.length);

  return {
    ok: problems.length === 0,
    problems,
    seed: run.seed,
    workers: run.workers,
    intents: run.intents,
    expected: run.expected.length,
    results: run.results.size,
    byStatus,
    unresolved: unresolved.causes,
    invalidIntents: invalid.figures,
    unresolvedOrders: unresolved.allowed,
    placedOrders: run.sandboxOrders.length,
    maxOrdersPerMerchantOrderId: maxOrders,
    money: { initial: run.balance.initial, charged: run.stats.charged, refunded: run.stats.refunded, final: run.balance.final },
    faults: { ...run.stats.faults },
    actions: run.actions,
    webhooks: run.stats.webhooks,
    ambiguousCreates: run.facts.ambiguousCreates.size,
    recoveredIntentJobs: run.recoveredIntentJobs,
    logLines: [...run.linesScanned.values()].reduce((sum, n) => sum + n, 0),
    nonJsonLogLines: run.facts.unparsedLines,
    leaks: run.leaks.length + run.droppedLeaks,
    durationMs: run.durationMs,
    plan: run.plan,
  };
}
