import { describe, expect, it } from 'vitest';
import {
  balanceProblems,
  emittedProblems,
  INVALID_REJECTION_LIMIT_MS,
  invalidIntentProblems,
  logProblems,
  resultCountProblems,
  resultMatchProblems,
  sandboxOrderProblems,
  unresolvedProblems,
} from '../../src/chaos/chaos-checks.js';
import type { EmittedResult } from '../../src/chaos/chaos-log-facts.js';
import type { OrderResult } from '../../src/lifecycle/order-state.js';
import type { SandboxOrderRecord } from '../../src/sandbox/sandbox-types.js';

const RESOLVED_AT = '2026-06-10T12:00:30.000Z';

function order(mid: string, over: Partial<SandboxOrderRecord> = {}): SandboxOrderRecord {
  return {
    id: `order-${mid}`,
    merchantOrderId: mid,
    itemId: 4090,
    productType: 'key',
    quantity: 2,
    status: 'completed',
    deliveredQuantity: 2,
    price: 18,
    refundAmount: 0,
    codes: [`VOODOO-AAAA-BBBB-${mid.toUpperCase().slice(-4).padStart(4, 'C')}`],
    error: '',
    errorMessage: '',
    createdAt: '2026-06-10T12:00:00.000Z',
    completedAt: '2026-06-10T12:00:01.000Z',
    settledAtMs: Date.parse('2026-06-10T12:00:01.000Z'),
    webhookAttempts: 1,
    ...over,
  };
}

/** The result a correct worker emits for `truth`. */
function resultOf(truth: SandboxOrderRecord, over: Partial<OrderResult> = {}): OrderResult {
  return {
    merchant_order_id: truth.merchantOrderId ?? '',
    order_id: truth.id,
    status: truth.status === 'completed' || truth.status === 'partial' || truth.status === 'failed' ? truth.status : 'unresolved',
    item_id: truth.itemId,
    quantity: truth.quantity,
    price: truth.price,
    delivered_quantity: truth.deliveredQuantity,
    refund_amount: truth.refundAmount,
    codes: [...truth.codes],
    fields: {},
    error: truth.error,
    error_message: truth.errorMessage,
    created_at: truth.createdAt,
    completed_at: truth.completedAt,
    resolved_at: RESOLVED_AT,
    source: 'webhook',
    warnings: [],
    ...over,
  };
}

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
    ...over,
  };
}

const byMid = (...results: OrderResult[]): Map<string, OrderResult> => new Map(results.map((r) => [r.merchant_order_id, r]));

describe('resultCountProblems', () => {
  it('finds nothing when every intent has exactly one result', () => {
    const results = byMid(resultOf(order('a')), resultOf(order('b')));
    expect(resultCountProblems(['a', 'b'], results, 2, [])).toEqual([]);
  });

  it('names a merchant_order_id without a result and one nobody enqueued', () => {
    const results = byMid(resultOf(order('a')), resultOf(order('x')));
    expect(resultCountProblems(['a', 'b'], results, 2, [])).toEqual(['b: no result', 'x: a result for a merchant_order_id nobody enqueued']);
  });

  it('reports more result jobs than merchant_order_ids, and every failed intent job', () => {
    const problems = resultCountProblems(['a'], byMid(resultOf(order('a'))), 2, [{ id: 'intent-a', reason: 'boom' }]);
    expect(problems).toEqual(['2 result jobs for 1 merchant_order_ids: some merchant_order_id got more than one', 'intent job intent-a failed: boom']);
  });
});

describe('sandboxOrderProblems', () => {
  it('reports a merchant_order_id charged twice, with both orders and the total', () => {
    const orders = [order('a', { id: 'o1' }), order('a', { id: 'o2' })];
    expect(sandboxOrderProblems(['a'], byMid(resultOf(order('a', { id: 'o1' }))), orders)).toEqual(['a: charged 2 times (o1, o2; 36.00 in all)']);
  });

  it('reports an order that never settled, one without a result and one nobody enqueued', () => {
    const orders = [order('a', { status: 'processing' }), order('b'), order('z')];
    expect(sandboxOrderProblems(['a', 'b'], byMid(resultOf(order('a'))), orders)).toEqual([
      'sandbox order order-a (a) never settled: processing',
      'b: sandbox order order-b (charged 18) has no result',
      'z: sandbox order order-z for a merchant_order_id nobody enqueued',
    ]);
  });
});

describe('resultMatchProblems', () => {
  it('accepts results that are the sandbox orders, partial and failed ones included', () => {
    const orders = [
      order('a'),
      order('b', { status: 'partial', deliveredQuantity: 1, refundAmount: 9 }),
      order('c', { status: 'failed', deliveredQuantity: 0, refundAmount: 18, codes: [], error: 'OUT_OF_STOCK' }),
    ];
    expect(resultMatchProblems(byMid(...orders.map((o) => resultOf(o))), orders, new Set())).toEqual([]);
  });

  it('names every field that differs and never prints the codes', () => {
    const truth = order('a', { status: 'partial', deliveredQuantity: 1, refundAmount: 9 });
    const wrong = resultOf(truth, { order_id: 'other', status: 'completed', price: 17.99, delivered_quantity: 2, refund_amount: 0, codes: ['VOODOO-LEAK-LEAK-LEAK'] });
    const problems = resultMatchProblems(byMid(wrong), [truth], new Set());
    expect(problems).toEqual([
      'a: order_id other ≠ sandbox order-a',
      'a: status completed ≠ sandbox partial',
      'a: price 1799 ≠ sandbox 1800',
      'a: delivered_quantity 2 ≠ sandbox 1',
      'a: refund_amount 0 ≠ sandbox 900',
      'a: codes differ from the sandbox\'s (1 in the result, 1 delivered)',
    ]);
    expect(problems.join(' ')).not.toContain('VOODOO');
  });

  it('compares money in cents, so float noise is not a mismatch', () => {
    const truth = order('a', { price: 0.3, refundAmount: 0.1, status: 'partial', deliveredQuantity: 1 });
    expect(resultMatchProblems(byMid(resultOf(truth, { price: 0.1 + 0.2, refund_amount: 0.1 })), [truth], new Set())).toEqual([]);
  });

  it('reports a terminal result with no order behind it', () => {
    expect(resultMatchProblems(byMid(resultOf(order('a'))), [], new Set())).toEqual(['a: completed (order order-a) but the sandbox has no order']);
  });

  it('reports a rejection although the sandbox charged an order, whatever the reason given', () => {
    const rejected = workerResult('a', 'rejected', { error: 'duplicate_merchant_order_id' });
    expect(resultMatchProblems(byMid(rejected), [order('a')], new Set(['a']))).toEqual([
      'a: rejected (duplicate_merchant_order_id) but the sandbox charged order order-a (18)',
    ]);
  });

  it('accepts the rejection of an invalid intent but reports a valid intent rejected (an invalid one that was not is for invalidIntentProblems)', () => {
    const results = byMid(workerResult('bad', 'rejected'), workerResult('good', 'rejected', { error: 'insufficient_balance', error_message: 'no funds' }), resultOf(order('bad2')));
    expect(resultMatchProblems(results, [order('bad2')], new Set(['bad', 'bad2']))).toEqual(['good: a valid intent was rejected: insufficient_balance: no funds']);
  });
});

describe('unresolvedProblems', () => {
  const resolvedAtMs = Date.parse(RESOLVED_AT);

  it('allows unresolved only for an order the sandbox holds whose webhook it dropped', () => {
    const results = byMid(workerResult('dropped', 'unresolved'), workerResult('dropped2', 'unresolved'));
    const orders = [order('dropped', { webhookAttempts: 0 }), order('dropped2', { id: 'o-77', webhookAttempts: 0 })];
    const verdict = unresolvedProblems(results, orders, { webhookAcceptedAtMs: new Map() });
    expect(verdict.problems).toEqual([]);
    expect(verdict.causes).toEqual({ no_order: 0, webhook_dropped: 2, webhook_never_stored: 0, webhook_late: 0 });
    expect(verdict.allowed).toEqual([
      { merchantOrderId: 'dropped', cause: 'webhook_dropped', sandboxOrderId: 'order-dropped' },
      { merchantOrderId: 'dropped2', cause: 'webhook_dropped', sandboxOrderId: 'o-77' },
    ]);
  });

  it('reports unresolved with no order in the sandbox, with a webhook delivered but never stored, and with one stored after the decision, counting each cause', () => {
    const results = byMid(
      workerResult('none', 'unresolved', { error_message: 'no webhook within POLL_TIMEOUT_MS' }),
      workerResult('abandoned', 'unresolved'),
      workerResult('late', 'unresolved'),
    );
    const orders = [order('abandoned', { webhookAttempts: 4 }), order('late')];
    const verdict = unresolvedProblems(results, orders, { webhookAcceptedAtMs: new Map([['late', resolvedAtMs + 2500]]) });
    expect(verdict.problems).toEqual([
      'none: unresolved but the sandbox has no order for it: nothing was placed, so no webhook could come (no webhook within POLL_TIMEOUT_MS)',
      'abandoned: unresolved; the sandbox sent the webhook of order order-abandoned 4 time(s) but the receiver stored none',
      'late: unresolved at 2026-06-10T12:00:30.000Z; the receiver stored the webhook of order order-late only 2500 ms later (2026-06-10T12:00:32.500Z)',
    ]);
    expect(verdict.causes).toEqual({ no_order: 1, webhook_dropped: 0, webhook_never_stored: 1, webhook_late: 1 });
    expect(verdict.allowed).toEqual([]);
  });

  it('reports unresolved although the receiver had stored the webhook before the result was decided', () => {
    const verdict = unresolvedProblems(byMid(workerResult('a', 'unresolved')), [order('a')], {
      webhookAcceptedAtMs: new Map([['a', resolvedAtMs - 1500]]),
    });
    expect(verdict.problems).toEqual([
      'a: unresolved at 2026-06-10T12:00:30.000Z although the receiver stored the webhook of order order-a 1500 ms earlier (2026-06-10T12:00:28.500Z)',
    ]);
    expect(verdict.causes.webhook_late).toBe(0);
  });

  it('reports unresolved when the worker knew the order id, even with the webhook dropped', () => {
    const verdict = unresolvedProblems(byMid(workerResult('a', 'unresolved', { order_id: 'order-a' })), [order('a', { webhookAttempts: 0 })], {
      webhookAcceptedAtMs: new Map(),
    });
    expect(verdict.problems).toEqual(['a: unresolved although the worker knew order order-a (it could have looked it up)']);
  });

  it('ignores results that are not unresolved', () => {
    expect(unresolvedProblems(byMid(resultOf(order('a'))), [], { webhookAcceptedAtMs: new Map() }).problems).toEqual([]);
  });
});

describe('invalidIntentProblems', () => {
  const enqueuedAtMs = Date.parse(RESOLVED_AT) - 5_000;
  const enqueued = (...mids: string[]): Map<string, number> => new Map(mids.map((mid) => [mid, enqueuedAtMs]));
  const noAmbiguity = { ambiguousCreates: new Set<string>() };

  it('accepts invalid intents rejected with validation_error or invalid_intent within the limit, and gathers the figures', () => {
    const results = byMid(
      workerResult('unknown-item', 'rejected', { error_message: 'item_id: no such item' }),
      workerResult('zero', 'rejected', { error: 'invalid_intent', resolved_at: new Date(enqueuedAtMs + 200).toISOString() }),
      workerResult('edge', 'rejected', { resolved_at: new Date(enqueuedAtMs + INVALID_REJECTION_LIMIT_MS).toISOString() }),
      resultOf(order('valid')),
    );
    const verdict = invalidIntentProblems(results, new Set(['unknown-item', 'zero', 'edge']), enqueued('unknown-item', 'zero', 'edge', 'valid'), {
      ambiguousCreates: new Set(['unknown-item', 'valid']),
    }, INVALID_REJECTION_LIMIT_MS);
    expect(verdict.problems).toEqual([]);
    expect(verdict.figures).toEqual({
      intents: 3,
      rejectedInTime: 3,
      byCode: { validation_error: 2, invalid_intent: 1 },
      slowestMs: INVALID_REJECTION_LIMIT_MS,
      afterAmbiguousCreate: 1,
      limitMs: INVALID_REJECTION_LIMIT_MS,
    });
  });

  it('reports an invalid intent that ended unresolved or completed instead of rejected', () => {
    const results = byMid(
      workerResult('waited', 'unresolved', { error_message: 'no webhook' }),
      resultOf(order('placed')),
    );
    const verdict = invalidIntentProblems(results, new Set(['waited', 'placed']), enqueued('waited', 'placed'), noAmbiguity, INVALID_REJECTION_LIMIT_MS);
    expect(verdict.problems).toEqual([
      'waited: an invalid intent ended unresolved (unresolved: no webhook), expected rejected',
      'placed: an invalid intent ended completed (order order-placed), expected rejected',
    ]);
    expect(verdict.figures.rejectedInTime).toBe(0);
  });

  it('reports a rejection with another code, one past the limit, and one whose enqueue time or resolved_at cannot be read', () => {
    const results = byMid(
      workerResult('funds', 'rejected', { error: 'insufficient_balance', error_message: 'no funds' }),
      workerResult('slow', 'rejected', { resolved_at: new Date(enqueuedAtMs + INVALID_REJECTION_LIMIT_MS + 1_500).toISOString() }),
      workerResult('untimed', 'rejected'),
      workerResult('garbled', 'rejected', { resolved_at: 'yesterday' }),
    );
    const verdict = invalidIntentProblems(results, new Set(['funds', 'slow', 'untimed', 'garbled']), enqueued('funds', 'slow', 'garbled'), noAmbiguity, INVALID_REJECTION_LIMIT_MS);
    expect(verdict.problems).toEqual([
      'funds: an invalid intent was rejected with insufficient_balance, expected validation_error or invalid_intent: no funds',
      'slow: an invalid intent was rejected 61.5 s after it was enqueued (limit 60 s)',
      'untimed: no enqueue time was recorded for this invalid intent',
      'garbled: rejected with an unreadable resolved_at "yesterday"',
    ]);
    expect(verdict.figures).toMatchObject({ intents: 4, rejectedInTime: 0, byCode: { insufficient_balance: 1, validation_error: 3 }, slowestMs: INVALID_REJECTION_LIMIT_MS + 1_500 });
  });

  it('leaves an invalid intent without a result to resultCountProblems, and has no slowest time when none was timed', () => {
    const verdict = invalidIntentProblems(new Map(), new Set(['lost']), enqueued('lost'), noAmbiguity, INVALID_REJECTION_LIMIT_MS);
    expect(verdict.problems).toEqual([]);
    expect(verdict.figures).toMatchObject({ intents: 1, rejectedInTime: 0, slowestMs: null });
  });
});

describe('balanceProblems', () => {
  const orders = [order('a', { price: 18 }), order('b', { price: 25.5, status: 'partial', refundAmount: 12.75 }), order('c', { price: 9, status: 'failed', refundAmount: 9 })];

  it('finds nothing when initial − charged + refunded = final and the totals are the sums over orders', () => {
    expect(balanceProblems({ initial: 1000, final: 1000 - 52.5 + 21.75 }, { charged: 52.5, refunded: 21.75 }, orders)).toEqual([]);
  });

  it('reports a final balance that does not reconcile', () => {
    expect(balanceProblems({ initial: 1000, final: 960 }, { charged: 52.5, refunded: 21.75 }, orders)).toEqual([
      'balance does not reconcile: initial 1000.00 − charged 52.50 + refunded 21.75 = 969.25, but the final balance is 960.00',
    ]);
  });

  it('reports totals that differ from the orders and a refund above the price', () => {
    const odd = [...orders, order('d', { price: 5, refundAmount: 6, status: 'failed' })];
    expect(balanceProblems({ initial: 1000, final: 1000 - 52.5 + 21.75 }, { charged: 52.5, refunded: 21.75 }, odd)).toEqual([
      'charged 52.50 ≠ sum of order prices 57.50',
      'refunded 21.75 ≠ sum of order refunds 27.75',
      'sandbox order order-d: refund 6 exceeds its price 5',
    ]);
  });
});

describe('logProblems', () => {
  it('lists every leak with its safe excerpt, the leaks beyond those kept, and lines not scanned', () => {
    const problems = logProblems({
      leaks: [{ process: 'worker-2', line: 7, kind: 'access token', excerpt: '"auth":"Bearer [LEAK]"' }],
      droppedLeaks: 3,
      scanned: new Map([['worker-1', 5], ['worker-2', 10], ['worker-3', 4]]),
      written: new Map([['worker-1', 5], ['worker-2', 12]]),
    });
    expect(problems).toEqual([
      'access token in log line 7 of worker-2: "auth":"Bearer [LEAK]"',
      '… and 3 more leaks',
      'worker-2 wrote 12 log lines but 10 were scanned',
    ]);
  });

  it('finds nothing in a clean, fully scanned run', () => {
    expect(logProblems({ leaks: [], droppedLeaks: 0, scanned: new Map([['webhook-1', 5]]), written: new Map([['webhook-1', 5]]) })).toEqual([]);
  });
});

describe('emittedProblems', () => {
  const truth = order('a');
  const results = byMid(resultOf(truth));
  const emit = (over: Partial<EmittedResult> = {}): EmittedResult => ({ process: 'worker-1', status: 'completed', orderId: 'order-a', ...over });

  it('accepts the same result emitted twice (a re-emit after a crash)', () => {
    const facts = { emitted: new Map([['a', [emit(), emit({ process: 'worker-4' })]]]), webhookAcceptedAtMs: new Map([['a', 1]]) };
    expect(emittedProblems(results, facts, 1)).toEqual([]);
  });

  it('reports a worker that emitted a different outcome than the stored result, and an emit with no result', () => {
    const facts = {
      emitted: new Map([
        ['a', [emit(), emit({ process: 'worker-3', status: 'unresolved', orderId: null })]],
        ['ghost', [emit({ status: 'failed' })]],
      ]),
      webhookAcceptedAtMs: new Map([['a', 1]]),
    };
    expect(emittedProblems(results, facts, 1)).toEqual([
      'a: worker-3 emitted unresolved (order null) but the result is completed (order order-a)',
      'ghost: worker-1 logged a failed result that is not in order-results',
    ]);
  });

  it('fails rather than passing blind when the log events it relies on were never seen', () => {
    expect(emittedProblems(results, { emitted: new Map(), webhookAcceptedAtMs: new Map() }, 5)).toEqual([
      'no worker log line has the event result_emitted: was it renamed?',
      'the sandbox saw 5 webhooks acknowledged but no receiver line has the event webhook_accepted: was it renamed?',
    ]);
  });
});
