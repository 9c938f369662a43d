import type { OrderResult } from '../lifecycle/order-state.js';
import type { SandboxOrderRecord, SandboxStats } from '../sandbox/sandbox-types.js';
import { LOG_EVENT } from '../logging/log-events.js';
import type { LogFacts } from './chaos-log-facts.js';
import type { LogLeak } from './chaos-log-scan.js';

/**
 * Why a result ended `unresolved` although the worker never learned its order id (its create was
 * ambiguous). Only `webhook_dropped` is allowed: the order exists, and the sandbox never sent its
 * webhook (the `webhook.drop` fault), so nothing could tell the worker what became of it.
 */
export type UnresolvedCause =
  /** The sandbox has no order for the merchant_order_id: nothing was placed, so no webhook could come. A problem. */
  | 'no_order'
  /** The sandbox settled the order but never sent its webhook (the `webhook.drop` fault). Allowed. */
  | 'webhook_dropped'
  /** Deliveries were attempted but the receiver stored none (every delivery failed: abandoned). A problem. */
  | 'webhook_never_stored'
  /** The receiver stored the webhook only after the worker had decided `unresolved`. A problem. */
  | 'webhook_late';

/** Count of `unresolved` results by cause (only `webhook_dropped` is allowed). */
export type UnresolvedBreakdown = Record<UnresolvedCause, number>;

/** An intent job that failed in `order-intents` (it then never gives a result). */
export interface FailedIntentJob {
  id: string;
  reason: string;
}

const cents = (amount: number): number => Math.round(amount * 100);
const major = (amountCents: number): string => (amountCents / 100).toFixed(2);
const TERMINAL: ReadonlySet<string> = new Set(['completed', 'partial', 'failed']);

/** The sandbox's orders by merchant_order_id (orders without one are reported by {@link sandboxOrderProblems}). */
export function ordersByMerchantOrderId(orders: readonly SandboxOrderRecord[]): Map<string, SandboxOrderRecord[]> {
  const byMid = new Map<string, SandboxOrderRecord[]>();
  for (const order of orders) {
    if (order.merchantOrderId === null) continue;
    byMid.set(order.merchantOrderId, [...(byMid.get(order.merchantOrderId) ?? []), order]);
  }
  return byMid;
}

/**
 * Exactly one result per intent: every expected merchant_order_id has a result, no other exists,
 * no merchant_order_id has two result jobs, and no intent job failed.
 */
export function resultCountProblems(
  expected: readonly string[],
  results: ReadonlyMap<string, OrderResult>,
  resultJobs: number,
  failedIntentJobs: readonly FailedIntentJob[],
): string[] {
  const problems: string[] = [];
  const expectedSet = new Set(expected);
  const missing = [...expectedSet].filter((mid) => !results.has(mid));
  for (const mid of missing) problems.push(`${mid}: no result`);
  for (const mid of results.keys()) {
    if (!expectedSet.has(mid)) problems.push(`${mid}: a result for a merchant_order_id nobody enqueued`);
  }
  if (resultJobs !== results.size) {
    problems.push(`${resultJobs} result jobs for ${results.size} merchant_order_ids: some merchant_order_id got more than one`);
  }
  for (const job of failedIntentJobs) problems.push(`intent job ${job.id} failed: ${job.reason}`);
  return problems;
}

/**
 * The sandbox's side: at most one order (one charge) per merchant_order_id, every order settled,
 * belonging to an enqueued merchant_order_id and accounted for by a result.
 */
export function sandboxOrderProblems(
  expected: readonly string[],
  results: ReadonlyMap<string, OrderResult>,
  orders: readonly SandboxOrderRecord[],
): string[] {
  const problems: string[] = [];
  const expectedSet = new Set(expected);
  for (const order of orders) {
    if (order.merchantOrderId === null) problems.push(`sandbox order ${order.id} has no merchant_order_id`);
    if (!TERMINAL.has(order.status)) problems.push(`sandbox order ${order.id} (${order.merchantOrderId ?? 'no merchant_order_id'}) never settled: ${order.status}`);
  }
  for (const [mid, list] of ordersByMerchantOrderId(orders)) {
    if (list.length > 1) {
      const total = list.reduce((sum, o) => sum + cents(o.price), 0);
      problems.push(`${mid}: charged ${list.length} times (${list.map((o) => o.id).join(', ')}; ${major(total)} in all)`);
    }
    if (!expectedSet.has(mid)) problems.push(`${mid}: sandbox order ${list[0]?.id ?? '?'} for a merchant_order_id nobody enqueued`);
    else if (!results.has(mid)) problems.push(`${mid}: sandbox order ${list[0]?.id ?? '?'} (charged ${list[0]?.price ?? '?'}) has no result`);
  }
  return problems;
}

/**
 * Each result against the sandbox's record of its order:
 * - completed / partial / failed: the order exists and order_id, status, price, delivered quantity,
 *   refund and codes are the sandbox's;
 * - rejected: only the intents meant to be rejected (`mustReject`), and never with an order behind it.
 * That every intent in `mustReject` is rejected, and soon, is judged by {@link invalidIntentProblems};
 * `unresolved` results by {@link unresolvedProblems}.
 */
export function resultMatchProblems(
  results: ReadonlyMap<string, OrderResult>,
  orders: readonly SandboxOrderRecord[],
  mustReject: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  const byMid = ordersByMerchantOrderId(orders);
  for (const [mid, result] of results) {
    const truth = byMid.get(mid)?.[0];
    if (result.status === 'unresolved') continue;
    if (result.status === 'rejected') {
      if (truth !== undefined) problems.push(`${mid}: rejected (${result.error ?? 'no code'}) but the sandbox charged order ${truth.id} (${truth.price})`);
      else if (!mustReject.has(mid)) problems.push(`${mid}: a valid intent was rejected: ${result.error ?? 'no code'}: ${result.error_message ?? ''}`);
      continue;
    }
    if (truth === undefined) {
      problems.push(`${mid}: ${result.status} (order ${result.order_id ?? 'null'}) but the sandbox has no order`);
      continue;
    }
    const pairs: [string, unknown, unknown][] = [
      ['order_id', result.order_id, truth.id],
      ['status', result.status, truth.status],
      ['price', result.price === null ? null : cents(result.price), cents(truth.price)],
      ['delivered_quantity', result.delivered_quantity, truth.deliveredQuantity],
      ['refund_amount', cents(result.refund_amount), cents(truth.refundAmount)],
    ];
    for (const [field, got, want] of pairs) {
      if (got !== want) problems.push(`${mid}: ${field} ${String(got)} ≠ sandbox ${String(want)}`);
    }
    // Codes are what the merchant paid for: compared, never printed.
    if (JSON.stringify(result.codes) !== JSON.stringify(truth.codes)) {
      problems.push(`${mid}: codes differ from the sandbox's (${result.codes.length} in the result, ${truth.codes.length} delivered)`);
    }
  }
  return problems;
}

/** One `unresolved` result the worker could not have avoided, and why. */
export interface AllowedUnresolved {
  merchantOrderId: string;
  cause: UnresolvedCause;
  /** The sandbox's order for it, or null when there is none. */
  sandboxOrderId: string | null;
}

/** What {@link unresolvedProblems} found. */
export interface UnresolvedVerdict {
  problems: string[];
  /** Every `unresolved` result without a known order id, by cause (the allowed and the others). */
  causes: UnresolvedBreakdown;
  /** The allowed ones (cause `webhook_dropped`), each with its order. */
  allowed: AllowedUnresolved[];
}

/**
 * `unresolved` is allowed only for an order the sandbox shows exists, whose create was ambiguous
 * (the worker never learned the order id) and whose webhook the sandbox dropped: nothing could have
 * told the worker what became of it. Every other `unresolved` is a problem, classified:
 * - the worker knew the order id (it could have looked the order up);
 * - `no_order`: the sandbox holds no order: nothing was placed, so no webhook could come; the
 *   worker should have learned that from the API (a provable rejection, or a retry that places the
 *   order). The sold-out case, whose refusal may rightly wait, is not in the chaos mix;
 * - `webhook_never_stored`: the sandbox delivered the webhook but the receiver stored none;
 * - `webhook_late`: the receiver stored it only after the result was decided (the run's webhooks
 *   arrive within seconds of settling, well inside the resolve timeout, so a late one means the
 *   receiver or the deadline misbehaved — or the resolve timeout was set below that latency);
 * - the receiver stored it before the result was decided (`facts.webhookAcceptedAtMs`, from the
 *   receiver's log lines): the worker ignored an answer it had.
 */
export function unresolvedProblems(
  results: ReadonlyMap<string, OrderResult>,
  orders: readonly SandboxOrderRecord[],
  facts: Pick<LogFacts, 'webhookAcceptedAtMs'>,
): UnresolvedVerdict {
  const problems: string[] = [];
  const causes: UnresolvedBreakdown = { no_order: 0, webhook_dropped: 0, webhook_never_stored: 0, webhook_late: 0 };
  const allowed: AllowedUnresolved[] = [];
  const byMid = ordersByMerchantOrderId(orders);
  for (const [mid, result] of results) {
    if (result.status !== 'unresolved') continue;
    if (result.order_id !== null) {
      problems.push(`${mid}: unresolved although the worker knew order ${result.order_id} (it could have looked it up)`);
      continue;
    }
    const truth = byMid.get(mid)?.[0];
    if (truth === undefined) {
      causes.no_order += 1;
      problems.push(`${mid}: unresolved but the sandbox has no order for it: nothing was placed, so no webhook could come (${result.error_message ?? 'no message'})`);
      continue;
    }
    const acceptedAtMs = facts.webhookAcceptedAtMs.get(mid);
    if (acceptedAtMs === undefined) {
      if (truth.webhookAttempts === 0) {
        causes.webhook_dropped += 1;
        allowed.push({ merchantOrderId: mid, cause: 'webhook_dropped', sandboxOrderId: truth.id });
      } else {
        causes.webhook_never_stored += 1;
        problems.push(`${mid}: unresolved; the sandbox sent the webhook of order ${truth.id} ${truth.webhookAttempts} time(s) but the receiver stored none`);
      }
      continue;
    }
    const resolvedAtMs = Date.parse(result.resolved_at);
    if (Number.isNaN(resolvedAtMs)) {
      problems.push(`${mid}: unresolved with an unreadable resolved_at ${JSON.stringify(result.resolved_at)}`);
      continue;
    }
    if (acceptedAtMs >= resolvedAtMs) {
      causes.webhook_late += 1;
      problems.push(
        `${mid}: unresolved at ${result.resolved_at}; the receiver stored the webhook of order ${truth.id} only ` +
          `${acceptedAtMs - resolvedAtMs} ms later (${new Date(acceptedAtMs).toISOString()})`,
      );
      continue;
    }
    problems.push(
      `${mid}: unresolved at ${result.resolved_at} although the receiver stored the webhook of order ${truth.id} ` +
        `${resolvedAtMs - acceptedAtMs} ms earlier (${new Date(acceptedAtMs).toISOString()})`,
    );
  }
  return { problems, causes, allowed };
}

/** How soon after it was enqueued an invalid intent must end `rejected`, in ms (issue 7). */
export const INVALID_REJECTION_LIMIT_MS = 60_000;

/** Rejection codes an invalid intent may end with: the API's (or the catalog's) and the job data's own. */
const INVALID_INTENT_CODES: ReadonlySet<string> = new Set(['validation_error', 'invalid_intent']);

/** How an invalid intent fared. */
export interface InvalidIntentFigures {
  /** Invalid intents (distinct merchant_order_ids meant to be rejected). */
  intents: number;
  /** Of them, ended `rejected` with an allowed code within the limit. */
  rejectedInTime: number;
  /** Rejected ones by error code. */
  byCode: Record<string, number>;
  /** Slowest rejection, from enqueue to `resolved_at`, in ms (null when none was timed). */
  slowestMs: number | null;
  /**
   * Invalid intents a worker logged an ambiguous create for: the ones that met the rule after an
   * ambiguous attempt (a lower bound: a worker killed mid-request leaves no such line).
   */
  afterAmbiguousCreate: number;
  /** The limit, in ms. */
  limitMs: number;
}

/** What {@link invalidIntentProblems} found. */
export interface InvalidIntentVerdict {
  problems: string[];
  figures: InvalidIntentFigures;
}

/**
 * Every invalid intent (`mustReject`) ends `rejected` with `validation_error` or `invalid_intent`,
 * and its `resolved_at` is at most `limitMs` after it was first enqueued (`enqueuedAtMs`, epoch ms):
 * an ambiguous attempt before the rejection (503, 502, reset, hang, a killed worker) must not make
 * it wait for a webhook that never comes. An intent with no result at all is reported by
 * {@link resultCountProblems}.
 */
export function invalidIntentProblems(
  results: ReadonlyMap<string, OrderResult>,
  mustReject: ReadonlySet<string>,
  enqueuedAtMs: ReadonlyMap<string, number>,
  facts: Pick<LogFacts, 'ambiguousCreates'>,
  limitMs: number,
): InvalidIntentVerdict {
  const problems: string[] = [];
  const byCode: Record<string, number> = {};
  let rejectedInTime = 0;
  let slowestMs: number | null = null;
  let afterAmbiguousCreate = 0;
  for (const mid of mustReject) {
    if (facts.ambiguousCreates.has(mid)) afterAmbiguousCreate += 1;
    const result = results.get(mid);
    if (result === undefined) continue;
    if (result.status !== 'rejected') {
      const order = result.order_id === null ? '' : ` (order ${result.order_id})`;
      const why = result.error === null || result.error === '' ? '' : ` (${result.error}: ${result.error_message ?? ''})`;
      problems.push(`${mid}: an invalid intent ended ${result.status}${order}${why}, expected rejected`);
      continue;
    }
    const code = result.error ?? 'no code';
    byCode[code] = (byCode[code] ?? 0) + 1;
    if (!INVALID_INTENT_CODES.has(code)) {
      problems.push(`${mid}: an invalid intent was rejected with ${code}, expected validation_error or invalid_intent: ${result.error_message ?? ''}`);
      continue;
    }
    const enqueued = enqueuedAtMs.get(mid);
    const resolvedAtMs = Date.parse(result.resolved_at);
    if (enqueued === undefined) {
      problems.push(`${mid}: no enqueue time was recorded for this invalid intent`);
      continue;
    }
    if (Number.isNaN(resolvedAtMs)) {
      problems.push(`${mid}: rejected with an unreadable resolved_at ${JSON.stringify(result.resolved_at)}`);
      continue;
    }
    const tookMs = resolvedAtMs - enqueued;
    slowestMs = Math.max(slowestMs ?? tookMs, tookMs);
    if (tookMs > limitMs) {
      problems.push(`${mid}: an invalid intent was rejected ${(tookMs / 1000).toFixed(1)} s after it was enqueued (limit ${(limitMs / 1000).toFixed(0)} s)`);
      continue;
    }
    rejectedInTime += 1;
  }
  return { problems, figures: { intents: mustReject.size, rejectedInTime, byCode, slowestMs, afterAmbiguousCreate, limitMs } };
}

/** The account's money as the sandbox kept it. */
export interface BalanceFigures {
  /** Balance at the start, major units. */
  initial: number;
  /** Balance at the end, major units. */
  final: number;
}

/**
 * The books balance: initial − charged + refunded = final (the sandbox's running totals), and those
 * totals equal the sums over its orders (price charged, refund credited).
 */
export function balanceProblems(balance: BalanceFigures, stats: Pick<SandboxStats, 'charged' | 'refunded'>, orders: readonly SandboxOrderRecord[]): string[] {
  const problems: string[] = [];
  const charged = cents(stats.charged);
  const refunded = cents(stats.refunded);
  const expectedFinal = cents(balance.initial) - charged + refunded;
  if (expectedFinal !== cents(balance.final)) {
    problems.push(
      `balance does not reconcile: initial ${major(cents(balance.initial))} − charged ${major(charged)} + refunded ${major(refunded)} = ` +
        `${major(expectedFinal)}, but the final balance is ${major(cents(balance.final))}`,
    );
  }
  const orderCharges = orders.reduce((sum, o) => sum + cents(o.price), 0);
  const orderRefunds = orders.reduce((sum, o) => sum + cents(o.refundAmount), 0);
  if (orderCharges !== charged) problems.push(`charged ${major(charged)} ≠ sum of order prices ${major(orderCharges)}`);
  if (orderRefunds !== refunded) problems.push(`refunded ${major(refunded)} ≠ sum of order refunds ${major(orderRefunds)}`);
  for (const order of orders) {
    if (cents(order.refundAmount) > cents(order.price)) problems.push(`sandbox order ${order.id}: refund ${order.refundAmount} exceeds its price ${order.price}`);
  }
  return problems;
}

/** Log lines: what was scanned and what was found. */
export interface LogScanFigures {
  leaks: readonly LogLeak[];
  /** Leaks found beyond those kept. */
  droppedLeaks: number;
  /** Lines the scanner saw, by process name. */
  scanned: ReadonlyMap<string, number>;
  /** Lines each process wrote (the fleet's own count), by process name. */
  written: ReadonlyMap<string, number>;
}

/**
 * Nothing secret in any log line, and every line written was scanned (none lost to the bounded
 * line buffer). Excerpts are printed with the secret replaced.
 */
export function logProblems(scan: LogScanFigures): string[] {
  const problems = scan.leaks.map((leak) => `${leak.kind} in log line ${leak.line} of ${leak.process}: ${leak.excerpt}`);
  if (scan.droppedLeaks > 0) problems.push(`… and ${scan.droppedLeaks} more leaks`);
  for (const [name, written] of scan.written) {
    const scanned = scan.scanned.get(name) ?? 0;
    if (scanned !== written) problems.push(`${name} wrote ${written} log lines but ${scanned} were scanned`);
  }
  return problems;
}

/**
 * The workers' own account agrees with the results: every `result_emitted` line for a
 * merchant_order_id names the status and order id of its one result (a crash may repeat an emit,
 * never change it); and the facts the unresolved check relies on were found at all (a renamed
 * log event must fail the run, not weaken it).
 */
export function emittedProblems(
  results: ReadonlyMap<string, OrderResult>,
  facts: Pick<LogFacts, 'emitted' | 'webhookAcceptedAtMs'>,
  acknowledgedWebhooks: number,
): string[] {
  const problems: string[] = [];
  for (const [mid, emits] of facts.emitted) {
    const result = results.get(mid);
    if (result === undefined) {
      problems.push(`${mid}: ${emits[0]?.process ?? 'a worker'} logged a ${emits[0]?.status ?? '?'} result that is not in order-results`);
      continue;
    }
    for (const emit of emits) {
      if (emit.status !== result.status || emit.orderId !== result.order_id) {
        problems.push(
          `${mid}: ${emit.process} emitted ${emit.status} (order ${emit.orderId ?? 'null'}) but the result is ${result.status} (order ${result.order_id ?? 'null'})`,
        );
      }
    }
  }
  if (results.size > 0 && facts.emitted.size === 0) problems.push(`no worker log line has the event ${LOG_EVENT.resultEmitted}: was it renamed?`);
  if (acknowledgedWebhooks > 0 && facts.webhookAcceptedAtMs.size === 0) {
    problems.push(`the sandbox saw ${acknowledgedWebhooks} webhooks acknowledged but no receiver line has the event ${LOG_EVENT.webhookAccepted}: was it renamed?`);
  }
  return problems;
}
