import type { OrderResult, ResultStatus } from '../../src/lifecycle/order-state.js';
import type { SandboxOrderRecord, SandboxStats } from '../../src/sandbox/sandbox-types.js';
import {
  checkResults,
  type AllowedUnresolved,
  type FailedIntentJob,
  type InvalidIntentFigures,
  type UnresolvedBreakdown,
} from '../checks/result-check.js';
import { tallyByStatus } from '../figures/run-figures.js';
import { emittedProblems, logProblems } from './chaos-log-checks.js';
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
  /** The intents meant to be rejected (invalid on purpose): merchant_order_id → what is wrong with it. */
  mustReject: ReadonlyMap<string, string>;
  /** When each merchant_order_id was first enqueued, epoch ms. */
  enqueuedAtMs: ReadonlyMap<string, number>;
  results: ReadonlyMap<string, OrderResult>;
  /** Resolutions of `unresolved` results, by merchant_order_id (none when omitted). */
  resolutions?: ReadonlyMap<string, OrderResult>;
  /** Jobs in `order-results`, resolutions included. */
  resultJobs: number;
  failedIntentJobs: readonly FailedIntentJob[];
  /** Intent jobs taken over from a dead worker at least once (BullMQ's stalledCounter > 0). */
  recoveredIntentJobs: number;
  sandboxOrders: readonly SandboxOrderRecord[];
  stats: SandboxStats;
  /** The account's balance at the start and at the end, major units. */
  balance: { initial: number; final: number };
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

/** How soon after it was enqueued an invalid intent must end `rejected`, in ms (issue 7). */
export const INVALID_REJECTION_LIMIT_MS = 60_000;

/** Rejection codes an invalid intent may end with: the API's (or the catalog's) and the job data's own. */
export const INVALID_INTENT_CODES: readonly string[] = ['validation_error', 'invalid_intent'];

/** Run every check over a chaos run's observations and gather its figures. Pure. */
export function summarizeChaos(run: ChaosObservations): ChaosSummary {
  const byStatus = tallyByStatus(run.results.values());
  const check = checkResults(
    {
      expected: run.expected,
      results: run.results,
      sandboxOrders: run.sandboxOrders,
      resultJobs: run.resultJobs,
      ...(run.resolutions ? { resolutions: run.resolutions } : {}),
      failedIntentJobs: run.failedIntentJobs,
    },
    {
      requireSettled: true,
      invalid: {
        mustReject: run.mustReject,
        noOtherRejection: true,
        codes: INVALID_INTENT_CODES,
        deadline: { limitMs: INVALID_REJECTION_LIMIT_MS, enqueuedAtMs: run.enqueuedAtMs },
        ambiguousCreates: run.facts.ambiguousCreates,
      },
      unresolved: { webhookAcceptedAtMs: run.facts.webhookAcceptedAtMs },
      books: { initial: run.balance.initial, final: run.balance.final, charged: run.stats.charged, refunded: run.stats.refunded },
    },
  );

  const problems: string[] = [];
  if (run.waitFailure !== null) problems.push(run.waitFailure.split('\n')[0] ?? run.waitFailure);
  for (const name of run.crashed) problems.push(`${name} exited without being stopped`);
  problems.push(...run.actions.failures);
  problems.push(
    ...check.problems,
    ...logProblems({ leaks: run.leaks, droppedLeaks: run.droppedLeaks, scanned: run.linesScanned, written: run.linesWritten }),
    ...emittedProblems(run.results, run.facts, run.stats.webhooks.acknowledged),
  );
  const { unresolved, invalidIntents } = check;
  // The options above ask for both.
  if (unresolved === null || invalidIntents === null) throw new Error('the result check left out the unresolved or invalid-intent verdict');

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
    invalidIntents,
    unresolvedOrders: unresolved.allowed,
    placedOrders: run.sandboxOrders.length,
    maxOrdersPerMerchantOrderId: check.maxOrdersPerMerchantOrderId,
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
