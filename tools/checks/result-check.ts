import type { OrderResult } from '../../src/lifecycle/order-state.js';
import type { SandboxOrderRecord } from '../../src/sandbox/sandbox-types.js';
import { formatSeconds } from '../figures/run-figures.js';

/**
 * The one check of a run's results against what was enqueued and against the sandbox's own
 * records, used by the demo, the bench, the chaos run and the tests. Every run gets the core:
 * - exactly one result per intent: every expected merchant_order_id has a result, no other exists,
 *   no id got two result jobs (`resultJobs`), no intent job failed (`failedIntentJobs`);
 * - the sandbox's side: every order names an expected merchant_order_id that has a result, and no
 *   id was charged twice;
 * - each completed / partial / failed result is the sandbox's order: order_id, status, delivered
 *   quantity, price and refund (money in cents, so float noise is no mismatch) and codes (compared,
 *   never printed);
 * - a `rejected` result has no order behind it, unless it was rejected as a
 *   `duplicate_merchant_order_id` (the id is taken by an order this run did not place for it).
 * Stricter runs (chaos) switch on more with {@link ResultCheckOptions}: every order settled, the
 * invalid intents rejected with given codes within a deadline and no valid one rejected,
 * `unresolved` only where the sandbox dropped the webhook, and books that balance. Without the
 * unresolved rule an `unresolved` result is not judged: not knowing is an allowed outcome.
 */
export function checkResults(input: ResultCheckInput, options: ResultCheckOptions = {}): ResultCheck {
  const byMid = ordersByMerchantOrderId(input.sandboxOrders);
  const invalid = options.invalid === undefined ? null : invalidIntentVerdict(input.results, options.invalid);
  const unresolved = options.unresolved === undefined ? null : unresolvedVerdict(input.results, byMid, options.unresolved);
  const problems = [
    ...countProblems(input),
    ...sandboxOrderProblems(input, byMid, options.requireSettled === true),
    ...matchProblems(input.results, byMid, options.invalid),
    ...(invalid?.problems ?? []),
    ...(unresolved?.problems ?? []),
    ...(options.books === undefined ? [] : booksProblems(options.books, input.sandboxOrders)),
  ];
  let maxOrders = 0;
  for (const list of byMid.values()) maxOrders = Math.max(maxOrders, list.length);
  return {
    problems,
    invalidIntents: invalid?.figures ?? null,
    unresolved: unresolved === null ? null : { causes: unresolved.causes, allowed: unresolved.allowed },
    maxOrdersPerMerchantOrderId: maxOrders,
  };
}

/** What a run produced, as {@link checkResults} takes it. */
export interface ResultCheckInput {
  /** Distinct merchant_order_ids enqueued: one result each is expected. */
  expected: readonly string[];
  /** Every result, by merchant_order_id. */
  results: ReadonlyMap<string, OrderResult>;
  /** The sandbox's orders (all of them, or those the caller wants judged). */
  sandboxOrders: readonly SandboxOrderRecord[];
  /**
   * Resolutions of `unresolved` results (result jobs with `resolves` set), by merchant_order_id: each
   * must resolve an id whose result is `unresolved`. None when omitted.
   */
  resolutions?: ReadonlyMap<string, OrderResult>;
  /**
   * Jobs in `order-results`, resolutions included: more than `results.size` + resolutions means some
   * merchant_order_id got two. Not checked when omitted.
   */
  resultJobs?: number;
  /** Intent jobs that failed in `order-intents` (such an intent never gives a result); each is a problem. */
  failedIntentJobs?: readonly FailedIntentJob[];
}

/** The checks a run switches on beyond the core. */
export interface ResultCheckOptions {
  /** Every sandbox order has settled (completed, partial or failed). Default false. */
  requireSettled?: boolean;
  /** The intents that are invalid on purpose, and what their rejection must look like. */
  invalid?: InvalidIntentRule;
  /** Judge `unresolved` results: allowed only where the sandbox dropped the webhook. */
  unresolved?: UnresolvedRule;
  /** The account's books as the sandbox kept them: they must balance. */
  books?: Books;
}

/** An intent job that failed in `order-intents` (it then never gives a result). */
export interface FailedIntentJob {
  id: string;
  reason: string;
}

/** How the intents that are invalid on purpose must end. */
export interface InvalidIntentRule {
  /** merchant_order_id → what is wrong with the intent (e.g. `unknown item`): each must end `rejected`. */
  mustReject: ReadonlyMap<string, string>;
  /** Report a `rejected` result of any other merchant_order_id too (a valid intent refused). Default false. */
  noOtherRejection?: boolean;
  /** The codes their rejection may carry; any code when omitted. */
  codes?: readonly string[];
  /** Each rejection's `resolved_at` at most `limitMs` after the intent was first enqueued (`enqueuedAtMs`, epoch ms). */
  deadline?: { limitMs: number; enqueuedAtMs: ReadonlyMap<string, number> };
  /** merchant_order_ids a worker logged an ambiguous create for: counted in the figures, not judged. */
  ambiguousCreates?: ReadonlySet<string>;
}

/** How the invalid intents fared. */
export interface InvalidIntentFigures {
  /** Invalid intents (distinct merchant_order_ids meant to be rejected). */
  intents: number;
  /** Of them, ended `rejected` with an allowed code (and within the deadline, when there is one). */
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
  /** The deadline, in ms, or null when there is none. */
  limitMs: number | null;
}

/**
 * What `unresolved` results are judged by: when the receiver stored each merchant_order_id's
 * webhook (epoch ms, from its `webhook event accepted` log lines).
 */
export interface UnresolvedRule {
  webhookAcceptedAtMs: ReadonlyMap<string, number>;
}

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

/** One `unresolved` result the worker could not have avoided, and why. */
export interface AllowedUnresolved {
  merchantOrderId: string;
  cause: UnresolvedCause;
  /** The sandbox's order for it, or null when there is none. */
  sandboxOrderId: string | null;
}

/** The account's money as the sandbox kept it, major units. */
export interface Books {
  /** Balance at the start. */
  initial: number;
  /** Balance at the end. */
  final: number;
  /** The sandbox's running total of charges. */
  charged: number;
  /** The sandbox's running total of refunds. */
  refunded: number;
}

/** What {@link checkResults} found. */
export interface ResultCheck {
  /** Every problem, core checks first (empty = all good). */
  problems: string[];
  /** How the invalid intents fared; null without {@link ResultCheckOptions.invalid}. */
  invalidIntents: InvalidIntentFigures | null;
  /**
   * Every `unresolved` result without a known order id, by cause, and the allowed ones; null
   * without {@link ResultCheckOptions.unresolved}.
   */
  unresolved: { causes: UnresolvedBreakdown; allowed: AllowedUnresolved[] } | null;
  /** Most orders the sandbox holds for one merchant_order_id (a correct run: at most 1). */
  maxOrdersPerMerchantOrderId: number;
}

/** The code a `rejected` result may carry although the sandbox holds an order for its merchant_order_id. */
const DUPLICATE_CODE = 'duplicate_merchant_order_id';
const TERMINAL: ReadonlySet<string> = new Set(['completed', 'partial', 'failed']);

/** Money in cents: sums and comparisons of amounts are exact, whatever the float noise. */
export function cents(amount: number): number {
  return Math.round(amount * 100);
}

/** Cents as major units with two decimals, for messages. */
function major(amountCents: number): string {
  return (amountCents / 100).toFixed(2);
}

/** The sandbox's orders by merchant_order_id (orders without one are reported by the sandbox check). */
function ordersByMerchantOrderId(orders: readonly SandboxOrderRecord[]): Map<string, SandboxOrderRecord[]> {
  const byMid = new Map<string, SandboxOrderRecord[]>();
  for (const order of orders) {
    if (order.merchantOrderId === null) continue;
    byMid.set(order.merchantOrderId, [...(byMid.get(order.merchantOrderId) ?? []), order]);
  }
  return byMid;
}

/** Exactly one result per intent. */
function countProblems(input: ResultCheckInput): string[] {
  const problems: string[] = [];
  const expected = new Set(input.expected);
  for (const mid of expected) {
    if (!input.results.has(mid)) problems.push(`${mid}: no result`);
  }
  for (const mid of input.results.keys()) {
    if (!expected.has(mid)) problems.push(`${mid}: a result for a merchant_order_id nobody enqueued`);
  }
  const resolutions = input.resolutions ?? new Map<string, OrderResult>();
  for (const mid of resolutions.keys()) {
    const status = input.results.get(mid)?.status;
    if (status !== 'unresolved') problems.push(`${mid}: a resolution of a result that was ${status ?? 'never emitted'}, not unresolved`);
  }
  if (input.resultJobs !== undefined && input.resultJobs !== input.results.size + resolutions.size) {
    const of = resolutions.size === 0 ? '' : ` and ${resolutions.size} resolution(s)`;
    problems.push(`${input.resultJobs} result jobs for ${input.results.size} merchant_order_ids${of}: some merchant_order_id got more than one`);
  }
  for (const job of input.failedIntentJobs ?? []) problems.push(`intent job ${job.id} failed: ${job.reason}`);
  return problems;
}

/** The sandbox's side: at most one order (one charge) per merchant_order_id, each enqueued and accounted for by a result. */
function sandboxOrderProblems(input: ResultCheckInput, byMid: ReadonlyMap<string, SandboxOrderRecord[]>, requireSettled: boolean): string[] {
  const problems: string[] = [];
  const expected = new Set(input.expected);
  for (const order of input.sandboxOrders) {
    if (order.merchantOrderId === null) problems.push(`sandbox order ${order.id} has no merchant_order_id`);
    if (requireSettled && !TERMINAL.has(order.status)) {
      problems.push(`sandbox order ${order.id} (${order.merchantOrderId ?? 'no merchant_order_id'}) never settled: ${order.status}`);
    }
  }
  for (const [mid, list] of byMid) {
    if (list.length > 1) {
      const total = list.reduce((sum, o) => sum + cents(o.price), 0);
      problems.push(`${mid}: charged ${list.length} times (${list.map((o) => o.id).join(', ')}; ${major(total)} in all)`);
    }
    if (!expected.has(mid)) problems.push(`${mid}: sandbox order ${list[0]?.id ?? '?'} for a merchant_order_id nobody enqueued`);
    else if (!input.results.has(mid)) problems.push(`${mid}: sandbox order ${list[0]?.id ?? '?'} (charged ${list[0]?.price ?? '?'}) has no result`);
  }
  return problems;
}

/** Each result against the sandbox's record of its order (`unresolved` ones are for the unresolved rule). */
function matchProblems(
  results: ReadonlyMap<string, OrderResult>,
  byMid: ReadonlyMap<string, SandboxOrderRecord[]>,
  invalid: InvalidIntentRule | undefined,
): string[] {
  const problems: string[] = [];
  for (const [mid, result] of results) {
    const truth = byMid.get(mid)?.[0];
    if (result.status === 'unresolved') continue;
    if (result.status === 'rejected') {
      if (truth !== undefined && result.error !== DUPLICATE_CODE) {
        problems.push(`${mid}: rejected (${result.error ?? 'no code'}) but the sandbox charged order ${truth.id} (${truth.price})`);
      } else if (invalid?.noOtherRejection === true && !invalid.mustReject.has(mid)) {
        problems.push(`${mid}: a valid intent was rejected: ${result.error ?? 'no code'}: ${result.error_message ?? ''}`);
      }
      continue;
    }
    if (truth === undefined) {
      problems.push(`${mid}: ${result.status} (order ${result.order_id ?? 'null'}) but the sandbox has no order`);
      continue;
    }
    const money = (amount: number | null): string => (amount === null ? 'null' : major(cents(amount)));
    const pairs: [string, string, string][] = [
      ['order_id', String(result.order_id), truth.id],
      ['status', result.status, truth.status],
      ['price', money(result.price), money(truth.price)],
      ['delivered_quantity', String(result.delivered_quantity), String(truth.deliveredQuantity)],
      ['refund_amount', money(result.refund_amount), money(truth.refundAmount)],
    ];
    for (const [field, got, want] of pairs) {
      if (got !== want) problems.push(`${mid}: ${field} ${got} ≠ sandbox ${want}`);
    }
    // Codes are what the merchant paid for: compared, never printed.
    if (JSON.stringify(result.codes) !== JSON.stringify(truth.codes)) {
      problems.push(`${mid}: codes differ from the sandbox's (${result.codes.length} in the result, ${truth.codes.length} delivered)`);
    }
  }
  return problems;
}

/**
 * Every invalid intent ends `rejected` (with an allowed code, within the deadline when there is
 * one): an ambiguous attempt before the rejection (503, 502, reset, hang, a killed worker) must not
 * make it wait for a webhook that never comes. An intent with no result at all is a count problem.
 */
function invalidIntentVerdict(results: ReadonlyMap<string, OrderResult>, rule: InvalidIntentRule): { problems: string[]; figures: InvalidIntentFigures } {
  const problems: string[] = [];
  const byCode: Record<string, number> = {};
  const codes = rule.codes === undefined ? null : new Set(rule.codes);
  let rejectedInTime = 0;
  let slowestMs: number | null = null;
  let afterAmbiguousCreate = 0;
  for (const [mid, what] of rule.mustReject) {
    if (rule.ambiguousCreates?.has(mid) === true) afterAmbiguousCreate += 1;
    const result = results.get(mid);
    if (result === undefined) continue;
    if (result.status !== 'rejected') {
      const order = result.order_id === null ? '' : ` (order ${result.order_id})`;
      const why = result.error === null || result.error === '' ? '' : ` (${result.error}: ${result.error_message ?? ''})`;
      problems.push(`${mid}: an invalid intent (${what}) ended ${result.status}${order}${why}, expected rejected`);
      continue;
    }
    const code = result.error ?? 'no code';
    byCode[code] = (byCode[code] ?? 0) + 1;
    if (codes !== null && !codes.has(code)) {
      problems.push(`${mid}: an invalid intent (${what}) was rejected with ${code}, expected ${[...codes].join(' or ')}: ${result.error_message ?? ''}`);
      continue;
    }
    if (rule.deadline === undefined) {
      rejectedInTime += 1;
      continue;
    }
    const enqueued = rule.deadline.enqueuedAtMs.get(mid);
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
    const { limitMs } = rule.deadline;
    if (tookMs > limitMs) {
      problems.push(`${mid}: an invalid intent (${what}) was rejected ${formatSeconds(tookMs)} after it was enqueued (limit ${(limitMs / 1000).toFixed(0)} s)`);
      continue;
    }
    rejectedInTime += 1;
  }
  return {
    problems,
    figures: { intents: rule.mustReject.size, rejectedInTime, byCode, slowestMs, afterAmbiguousCreate, limitMs: rule.deadline?.limitMs ?? null },
  };
}

/**
 * `unresolved` is allowed only for an order the sandbox shows exists, whose create was ambiguous
 * (the worker never learned the order id) and whose webhook the sandbox dropped: nothing could have
 * told the worker what became of it. Every other `unresolved` is a problem, classified:
 * - the worker knew the order id (it could have looked the order up);
 * - `no_order`: the sandbox holds no order: nothing was placed, so no webhook could come; the
 *   worker should have learned that from the API (a provable rejection, or a retry that places the
 *   order);
 * - `webhook_never_stored`: the sandbox delivered the webhook but the receiver stored none;
 * - `webhook_late`: the receiver stored it only after the result was decided (a run's webhooks
 *   arrive within seconds of settling, well inside the resolve timeout, so a late one means the
 *   receiver or the deadline misbehaved — or the resolve timeout was set below that latency);
 * - the receiver stored it before the result was decided: the worker ignored an answer it had.
 */
function unresolvedVerdict(
  results: ReadonlyMap<string, OrderResult>,
  byMid: ReadonlyMap<string, SandboxOrderRecord[]>,
  rule: UnresolvedRule,
): { problems: string[]; causes: UnresolvedBreakdown; allowed: AllowedUnresolved[] } {
  const problems: string[] = [];
  const causes: UnresolvedBreakdown = { no_order: 0, webhook_dropped: 0, webhook_never_stored: 0, webhook_late: 0 };
  const allowed: AllowedUnresolved[] = [];
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
    const acceptedAtMs = rule.webhookAcceptedAtMs.get(mid);
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

/**
 * The books balance: initial − charged + refunded = final (the sandbox's running totals), and those
 * totals equal the sums over its orders (price charged, refund credited).
 */
function booksProblems(books: Books, orders: readonly SandboxOrderRecord[]): string[] {
  const problems: string[] = [];
  const charged = cents(books.charged);
  const refunded = cents(books.refunded);
  const expectedFinal = cents(books.initial) - charged + refunded;
  if (expectedFinal !== cents(books.final)) {
    problems.push(
      `balance does not reconcile: initial ${major(cents(books.initial))} − charged ${major(charged)} + refunded ${major(refunded)} = ` +
        `${major(expectedFinal)}, but the final balance is ${major(cents(books.final))}`,
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
