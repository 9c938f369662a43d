import { describe, expect, it } from 'vitest';
import type { OrderResult } from '../../../src/lifecycle/order-state.js';
import type { SandboxOrderRecord } from '../../../src/sandbox/sandbox-types.js';
import { checkResults, type InvalidIntentRule, type ResultCheckInput } from '../../../tools/checks/result-check.js';
import { RESOLVED_AT, resultOfSandboxOrder, sandboxOrder } from '../../support/sandbox-fixtures.js';

const order = sandboxOrder;
const resultOf = resultOfSandboxOrder;

/** A result the worker decided without an order (rejected, or unresolved). */
function workerResult(mid: string, status: 'rejected' | 'unresolved', over: Partial<OrderResult> = {}): OrderResult {
  return {
    merchant_order_id: mid,
    order_id: null,
    status,
    item_id: 4090,
    quantity: 2,
    price: null,
    delivered_quantity: 0,
    refund_amount: 0,
    codes: [],
    fields: {},
    error: status === 'rejected' ? 'validation_error' : 'unresolved',
    error_message: 'why',
    created_at: null,
    completed_at: null,
    resolved_at: RESOLVED_AT,
    source: 'worker',
    warnings: [],
    resolves: null,
    ...over,
  };
}

const byMid = (...results: OrderResult[]): Map<string, OrderResult> => new Map(results.map((r) => [r.merchant_order_id, r]));

/** The core check of `results` against `orders`, every result's id expected. */
function core(results: Map<string, OrderResult>, orders: SandboxOrderRecord[], over: Partial<ResultCheckInput> = {}): string[] {
  return checkResults({ expected: [...results.keys()], results, sandboxOrders: orders, ...over }).problems;
}

describe('checkResults: one result per intent', () => {
  it('finds nothing when every intent has exactly one result that agrees with the sandbox', () => {
    const results = byMid(resultOf(order('a')), workerResult('b', 'rejected'), workerResult('c', 'unresolved'));
    const check = checkResults({ expected: ['a', 'b', 'c'], results, sandboxOrders: [order('a'), order('c')], resultJobs: 3, failedIntentJobs: [] });
    expect(check.problems).toEqual([]);
    expect(check.maxOrdersPerMerchantOrderId).toBe(1);
    // Rules not asked for give no verdict.
    expect(check.invalidIntents).toBeNull();
    expect(check.unresolved).toBeNull();
  });

  it('names a merchant_order_id without a result and one nobody enqueued', () => {
    const results = byMid(resultOf(order('a')), resultOf(order('x')));
    expect(checkResults({ expected: ['a', 'b'], results, sandboxOrders: [order('a'), order('x')] }).problems).toEqual([
      'b: no result',
      'x: a result for a merchant_order_id nobody enqueued',
      'x: sandbox order order-x for a merchant_order_id nobody enqueued',
    ]);
  });

  it('reports more result jobs than merchant_order_ids, and every failed intent job', () => {
    const results = byMid(resultOf(order('a')));
    expect(core(results, [order('a')], { resultJobs: 2, failedIntentJobs: [{ id: 'intent-a', reason: 'boom' }] })).toEqual([
      '2 result jobs for 1 merchant_order_ids: some merchant_order_id got more than one',
      'intent job intent-a failed: boom',
    ]);
  });

  it('counts one resolution of an unresolved result as its own job, not as a second result', () => {
    const results = byMid(workerResult('u', 'unresolved'), resultOf(order('a')));
    const resolutions = byMid({ ...resultOf(order('u')), resolves: 'unresolved' });
    expect(core(results, [order('a'), order('u')], { resolutions, resultJobs: 3 })).toEqual([]);
    expect(core(results, [order('a'), order('u')], { resolutions, resultJobs: 4 })).toEqual([
      '4 result jobs for 2 merchant_order_ids and 1 resolution(s): some merchant_order_id got more than one',
    ]);
  });

  it('names a resolution of a result that was not unresolved', () => {
    const results = byMid(resultOf(order('a')));
    const resolutions = byMid({ ...resultOf(order('a')), resolves: 'unresolved' }, { ...resultOf(order('z')), resolves: 'unresolved' });
    expect(core(results, [order('a')], { resolutions })).toEqual([
      'a: a resolution of a result that was completed, not unresolved',
      'z: a resolution of a result that was never emitted, not unresolved',
    ]);
  });
});

describe("checkResults: the sandbox's side", () => {
  it('reports a merchant_order_id charged twice, with both orders and the total', () => {
    const check = checkResults({ expected: ['a'], results: byMid(resultOf(order('a', { id: 'o1' }))), sandboxOrders: [order('a', { id: 'o1' }), order('a', { id: 'o2' })] });
    expect(check.problems).toEqual(['a: charged 2 times (o1, o2; 36.00 in all)']);
    expect(check.maxOrdersPerMerchantOrderId).toBe(2);
  });

  it('reports an order without a result, one nobody enqueued and one without a merchant_order_id', () => {
    const orders = [order('a'), order('b'), order('z'), order('n', { merchantOrderId: null })];
    expect(checkResults({ expected: ['a', 'b'], results: byMid(resultOf(order('a'))), sandboxOrders: orders }).problems).toEqual([
      'b: no result',
      'sandbox order order-n has no merchant_order_id',
      'b: sandbox order order-b (charged 18) has no result',
      'z: sandbox order order-z for a merchant_order_id nobody enqueued',
    ]);
  });

  it('reports an order that never settled, when asked to', () => {
    const results = byMid(resultOf(order('a')));
    const orders = [order('a', { status: 'processing' })];
    expect(checkResults({ expected: ['a'], results, sandboxOrders: orders }).problems).not.toContain('sandbox order order-a (a) never settled: processing');
    expect(checkResults({ expected: ['a'], results, sandboxOrders: orders }, { requireSettled: true }).problems).toContain(
      'sandbox order order-a (a) never settled: processing',
    );
  });
});

describe('checkResults: each result against its order', () => {
  it('accepts results that are the sandbox orders, partial and failed ones included', () => {
    const orders = [
      order('a'),
      order('b', { status: 'partial', deliveredQuantity: 1, refundAmount: 9 }),
      order('c', { status: 'failed', deliveredQuantity: 0, refundAmount: 18, codes: [], error: 'OUT_OF_STOCK' }),
    ];
    expect(core(byMid(...orders.map((o) => resultOf(o))), orders)).toEqual([]);
  });

  it('names every field that differs, money in major units, and never prints the codes', () => {
    const truth = order('a', { status: 'partial', deliveredQuantity: 1, refundAmount: 9 });
    const wrong = resultOf(truth, { order_id: 'other', status: 'completed', price: 17.99, delivered_quantity: 2, refund_amount: 0, codes: ['VOODOO-LEAK-LEAK-LEAK'] });
    const problems = core(byMid(wrong), [truth]);
    expect(problems).toEqual([
      'a: order_id other ≠ sandbox order-a',
      'a: status completed ≠ sandbox partial',
      'a: price 17.99 ≠ sandbox 18.00',
      'a: delivered_quantity 2 ≠ sandbox 1',
      'a: refund_amount 0.00 ≠ sandbox 9.00',
      "a: codes differ from the sandbox's (1 in the result, 1 delivered)",
    ]);
    expect(problems.join(' ')).not.toContain('VOODOO');
  });

  it('compares money in cents, so float noise is not a mismatch', () => {
    const truth = order('a', { price: 0.3, refundAmount: 0.1, status: 'partial', deliveredQuantity: 1 });
    expect(core(byMid(resultOf(truth, { price: 0.1 + 0.2, refund_amount: 0.1 })), [truth])).toEqual([]);
  });

  it('reports a terminal result with no order behind it, and one with no price', () => {
    expect(core(byMid(resultOf(order('a'))), [])).toEqual(['a: completed (order order-a) but the sandbox has no order']);
    expect(core(byMid(resultOf(order('a'), { price: null })), [order('a')])).toEqual(['a: price null ≠ sandbox 18.00']);
  });

  it('reports a rejection although the sandbox charged an order, unless the id was rejected as a duplicate', () => {
    expect(core(byMid(workerResult('a', 'rejected')), [order('a')])).toEqual(['a: rejected (validation_error) but the sandbox charged order order-a (18)']);
    expect(core(byMid(workerResult('a', 'rejected', { error: 'duplicate_merchant_order_id' })), [order('a')])).toEqual([]);
  });

  it('does not judge unresolved results without the unresolved rule', () => {
    expect(core(byMid(workerResult('none', 'unresolved'), workerResult('known', 'unresolved', { order_id: 'order-known' })), [order('known')])).toEqual([]);
  });
});

describe('checkResults: invalid intents', () => {
  const enqueuedAtMs = Date.parse(RESOLVED_AT) - 5_000;
  const LIMIT = 60_000;
  const invalid = (...mids: string[]): Map<string, string> => new Map(mids.map((mid) => [mid, `bad ${mid}`]));
  const enqueued = (...mids: string[]): Map<string, number> => new Map(mids.map((mid) => [mid, enqueuedAtMs]));
  /** The chaos run's rule over `mustReject`, with enqueue times for `timed`. */
  const strict = (mustReject: Map<string, string>, timed: Map<string, number>, ambiguous: string[] = []): InvalidIntentRule => ({
    mustReject,
    noOtherRejection: true,
    codes: ['validation_error', 'invalid_intent'],
    deadline: { limitMs: LIMIT, enqueuedAtMs: timed },
    ambiguousCreates: new Set(ambiguous),
  });
  const judge = (results: Map<string, OrderResult>, rule: InvalidIntentRule, orders: SandboxOrderRecord[] = []) =>
    checkResults({ expected: [...results.keys()], results, sandboxOrders: orders }, { invalid: rule });

  it('accepts invalid intents rejected with an allowed code within the limit, and gathers the figures', () => {
    const results = byMid(
      workerResult('unknown-item', 'rejected', { error_message: 'item_id: no such item' }),
      workerResult('zero', 'rejected', { error: 'invalid_intent', resolved_at: new Date(enqueuedAtMs + 200).toISOString() }),
      workerResult('edge', 'rejected', { resolved_at: new Date(enqueuedAtMs + LIMIT).toISOString() }),
      resultOf(order('valid')),
    );
    const check = judge(results, strict(invalid('unknown-item', 'zero', 'edge'), enqueued('unknown-item', 'zero', 'edge', 'valid'), ['unknown-item', 'valid']), [order('valid')]);
    expect(check.problems).toEqual([]);
    expect(check.invalidIntents).toEqual({
      intents: 3,
      rejectedInTime: 3,
      byCode: { validation_error: 2, invalid_intent: 1 },
      slowestMs: LIMIT,
      afterAmbiguousCreate: 1,
      limitMs: LIMIT,
    });
  });

  it('reports an invalid intent that ended unresolved or completed instead of rejected, naming what is wrong with it', () => {
    const results = byMid(workerResult('waited', 'unresolved', { error_message: 'no webhook' }), resultOf(order('placed')));
    const check = judge(results, { mustReject: new Map([['waited', 'sold-out item 7300'], ['placed', 'unknown item']]) }, [order('placed')]);
    expect(check.problems).toEqual([
      'waited: an invalid intent (sold-out item 7300) ended unresolved (unresolved: no webhook), expected rejected',
      'placed: an invalid intent (unknown item) ended completed (order order-placed), expected rejected',
    ]);
    expect(check.invalidIntents?.rejectedInTime).toBe(0);
  });

  it('takes any code and no deadline unless the rule gives them', () => {
    const check = judge(byMid(workerResult('sold-out', 'rejected', { error: 'catalog_rejected' })), { mustReject: invalid('sold-out') });
    expect(check.problems).toEqual([]);
    expect(check.invalidIntents).toMatchObject({ intents: 1, rejectedInTime: 1, byCode: { catalog_rejected: 1 }, slowestMs: null, limitMs: null });
  });

  it('reports a rejection with another code, one past the limit, and one whose enqueue time or resolved_at cannot be read', () => {
    const results = byMid(
      workerResult('funds', 'rejected', { error: 'insufficient_balance', error_message: 'no funds' }),
      workerResult('slow', 'rejected', { resolved_at: new Date(enqueuedAtMs + LIMIT + 1_500).toISOString() }),
      workerResult('untimed', 'rejected'),
      workerResult('garbled', 'rejected', { resolved_at: 'yesterday' }),
    );
    const check = judge(results, strict(invalid('funds', 'slow', 'untimed', 'garbled'), enqueued('funds', 'slow', 'garbled')));
    expect(check.problems).toEqual([
      'funds: an invalid intent (bad funds) was rejected with insufficient_balance, expected validation_error or invalid_intent: no funds',
      'slow: an invalid intent (bad slow) was rejected 61.5 s after it was enqueued (limit 60 s)',
      'untimed: no enqueue time was recorded for this invalid intent',
      'garbled: rejected with an unreadable resolved_at "yesterday"',
    ]);
    expect(check.invalidIntents).toMatchObject({ intents: 4, rejectedInTime: 0, byCode: { insufficient_balance: 1, validation_error: 3 }, slowestMs: LIMIT + 1_500 });
  });

  it('reports a valid intent rejected when no other rejection is allowed, a duplicate included', () => {
    const results = byMid(
      workerResult('bad', 'rejected'),
      workerResult('good', 'rejected', { error: 'insufficient_balance', error_message: 'no funds' }),
      workerResult('taken', 'rejected', { error: 'duplicate_merchant_order_id', error_message: 'exists' }),
    );
    const rule = strict(invalid('bad'), enqueued('bad'));
    expect(judge(results, rule, [order('taken')]).problems).toEqual([
      'good: a valid intent was rejected: insufficient_balance: no funds',
      'taken: a valid intent was rejected: duplicate_merchant_order_id: exists',
    ]);
    expect(judge(results, { ...rule, noOtherRejection: false }, [order('taken')]).problems).toEqual([]);
  });

  it('leaves an invalid intent without a result to the count check, and has no slowest time when none was timed', () => {
    const check = checkResults({ expected: ['lost'], results: new Map(), sandboxOrders: [] }, { invalid: strict(invalid('lost'), enqueued('lost')) });
    expect(check.problems).toEqual(['lost: no result']);
    expect(check.invalidIntents).toMatchObject({ intents: 1, rejectedInTime: 0, slowestMs: null });
  });
});

describe('checkResults: unresolved results', () => {
  const resolvedAtMs = Date.parse(RESOLVED_AT);
  const judge = (results: Map<string, OrderResult>, orders: SandboxOrderRecord[], accepted: Map<string, number> = new Map()) =>
    checkResults({ expected: [...results.keys()], results, sandboxOrders: orders }, { unresolved: { webhookAcceptedAtMs: accepted } });

  it('allows unresolved only for an order the sandbox holds whose webhook it dropped', () => {
    const results = byMid(workerResult('dropped', 'unresolved'), workerResult('dropped2', 'unresolved'));
    const check = judge(results, [order('dropped', { webhookAttempts: 0 }), order('dropped2', { id: 'o-77', webhookAttempts: 0 })]);
    expect(check.problems).toEqual([]);
    expect(check.unresolved).toEqual({
      causes: { no_order: 0, webhook_dropped: 2, webhook_never_stored: 0, webhook_late: 0 },
      allowed: [
        { merchantOrderId: 'dropped', cause: 'webhook_dropped', sandboxOrderId: 'order-dropped' },
        { merchantOrderId: 'dropped2', cause: 'webhook_dropped', sandboxOrderId: 'o-77' },
      ],
    });
  });

  it('reports unresolved with no order in the sandbox, with a webhook delivered but never stored, and with one stored after the decision, counting each cause', () => {
    const results = byMid(
      workerResult('none', 'unresolved', { error_message: 'no webhook within POLL_TIMEOUT_MS' }),
      workerResult('abandoned', 'unresolved'),
      workerResult('late', 'unresolved'),
    );
    const check = judge(results, [order('abandoned', { webhookAttempts: 4 }), order('late')], new Map([['late', resolvedAtMs + 2500]]));
    expect(check.problems).toEqual([
      'none: unresolved but the sandbox has no order for it: nothing was placed, so no webhook could come (no webhook within POLL_TIMEOUT_MS)',
      'abandoned: unresolved; the sandbox sent the webhook of order order-abandoned 4 time(s) but the receiver stored none',
      'late: unresolved at 2026-06-10T12:00:30.000Z; the receiver stored the webhook of order order-late only 2500 ms later (2026-06-10T12:00:32.500Z)',
    ]);
    expect(check.unresolved).toEqual({ causes: { no_order: 1, webhook_dropped: 0, webhook_never_stored: 1, webhook_late: 1 }, allowed: [] });
  });

  it('reports unresolved although the receiver had stored the webhook before the result was decided', () => {
    const check = judge(byMid(workerResult('a', 'unresolved')), [order('a')], new Map([['a', resolvedAtMs - 1500]]));
    expect(check.problems).toEqual([
      'a: unresolved at 2026-06-10T12:00:30.000Z although the receiver stored the webhook of order order-a 1500 ms earlier (2026-06-10T12:00:28.500Z)',
    ]);
    expect(check.unresolved?.causes.webhook_late).toBe(0);
  });

  it('reports unresolved when the worker knew the order id, even with the webhook dropped', () => {
    const check = judge(byMid(workerResult('a', 'unresolved', { order_id: 'order-a' })), [order('a', { webhookAttempts: 0 })]);
    expect(check.problems).toEqual(['a: unresolved although the worker knew order order-a (it could have looked it up)']);
  });

  it('ignores results that are not unresolved', () => {
    expect(judge(byMid(resultOf(order('a'))), [order('a')]).problems).toEqual([]);
  });
});

describe('checkResults: the books', () => {
  const orders = [order('a', { price: 18 }), order('b', { price: 25.5, status: 'partial', refundAmount: 12.75 }), order('c', { price: 9, status: 'failed', refundAmount: 9 })];
  /** The whole check over `list` with a result per order: only the books can be wrong. */
  const booksOf = (initial: number, final: number, list: SandboxOrderRecord[]): string[] =>
    checkResults({ expected: list.map((o) => o.merchantOrderId ?? ''), results: byMid(...list.map((o) => resultOf(o))), sandboxOrders: list }, {
      books: { initial, final, charged: 52.5, refunded: 21.75 },
    }).problems;

  it('finds nothing when initial − charged + refunded = final and the totals are the sums over orders', () => {
    expect(booksOf(1000, 1000 - 52.5 + 21.75, orders)).toEqual([]);
  });

  it('reports a final balance that does not reconcile', () => {
    expect(booksOf(1000, 960, orders)).toEqual(['balance does not reconcile: initial 1000.00 − charged 52.50 + refunded 21.75 = 969.25, but the final balance is 960.00']);
  });

  it('reports totals that differ from the orders and a refund above the price', () => {
    const odd = [...orders, order('d', { price: 5, refundAmount: 6, status: 'failed' })];
    expect(booksOf(1000, 1000 - 52.5 + 21.75, odd)).toEqual([
      'charged 52.50 ≠ sum of order prices 57.50',
      'refunded 21.75 ≠ sum of order refunds 27.75',
      'sandbox order order-d: refund 6 exceeds its price 5',
    ]);
  });
});
