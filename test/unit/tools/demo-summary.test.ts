import { describe, expect, it } from 'vitest';
import type { OrderResult } from '../../../src/lifecycle/order-state.js';
import type { SandboxOrderRecord, SandboxStats } from '../../../src/sandbox/sandbox-types.js';
import { renderDemoSummary, summarizeDemo, type DemoRun } from '../../../tools/demo/demo-summary.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function result(mid: string, status: OrderResult['status'], resolvedAfterMs: number): OrderResult {
  const placed = status !== 'rejected';
  return {
    merchant_order_id: mid,
    order_id: placed ? `id-${mid}` : null,
    status,
    item_id: 4090,
    quantity: 1,
    price: placed ? 9 : null,
    delivered_quantity: status === 'completed' ? 1 : 0,
    refund_amount: status === 'failed' ? 9 : 0,
    codes: [],
    fields: {},
    error: status === 'rejected' ? 'validation_error' : null,
    error_message: null,
    created_at: null,
    completed_at: null,
    resolved_at: new Date(T0 + resolvedAfterMs).toISOString(),
    source: 'webhook',
    warnings: [],
    resolves: null,
  };
}

function order(r: OrderResult): SandboxOrderRecord {
  return {
    id: r.order_id ?? '',
    merchantOrderId: r.merchant_order_id,
    itemId: 4090,
    productType: 'key',
    quantity: 1,
    status: r.status === 'failed' ? 'failed' : 'completed',
    deliveredQuantity: r.delivered_quantity,
    price: 9,
    refundAmount: r.refund_amount,
    codes: [],
    error: '',
    errorMessage: '',
    createdAt: '',
    completedAt: null,
    settledAtMs: T0 + 100,
    webhookAttempts: 1,
  };
}

const stats: SandboxStats = {
  calls: { token: 1, balance: 1, create: 3, lookup: 1 },
  faults: { 'create.resetAfterCommit': 1, 'webhook.drop': 0 },
  webhooks: { sent: 2, acknowledged: 2, failed: 0, dropped: 0 },
  charged: 18,
  refunded: 9,
};

function run(overrides: Partial<DemoRun> = {}): DemoRun {
  const results = [result('a', 'completed', 1_000), result('b', 'failed', 2_000), result('c', 'rejected', 10)];
  return {
    seed: 1,
    workers: 2,
    samples: [
      { intent: { merchant_order_id: 'a', item_id: 4090 }, kind: 'valid', note: '' },
      { intent: { merchant_order_id: 'b', item_id: 4090 }, kind: 'valid', note: '' },
      { intent: { merchant_order_id: 'c', item_id: 7300 }, kind: 'invalid', note: 'sold-out item 7300' },
    ],
    expected: ['a', 'b', 'c'],
    enqueuedAtMs: new Map([['a', T0], ['b', T0], ['c', T0]]),
    firstEnqueueAtMs: T0,
    results: new Map(results.map((r) => [r.merchant_order_id, r])),
    resultJobs: 3,
    sandboxOrders: results.filter((r) => r.status !== 'rejected').map(order),
    stats,
    waitFailure: null,
    ...overrides,
  };
}

describe('summarizeDemo', () => {
  it('counts statuses, calls per placed order, throughput and latencies of a good run', () => {
    const s = summarizeDemo(run());
    expect(s.ok).toBe(true);
    expect(s.byStatus).toEqual({ completed: 1, partial: 0, failed: 1, rejected: 1, unresolved: 0 });
    expect(s.placedOrders).toBe(2);
    expect(s.callsPerPlacedOrder).toEqual({ token: 0.5, balance: 0.5, create: 1.5, lookup: 0.5, total: 3 });
    expect(s.durationMs).toBe(2_000);
    expect(s.ordersPerSecond).toBe(1.5);
    expect(s.timeToResultMs).toEqual({ p50: 1_000, p95: 2_000, p99: 2_000, max: 2_000, samples: 3 });
    expect(s.settleToResultMs).toEqual({ p50: 900, p95: 1_900, p99: 1_900, max: 1_900, samples: 2 });
    const text = renderDemoSummary(s);
    expect(text).toContain('results match the sandbox: yes');
    expect(text).toContain('faults injected       create.resetAfterCommit 1\n');
    expect(text).toContain('time to result        p50 1.00 s, p99 2.00 s (enqueue → result resolved_at)');
  });

  it('fails when a merchant_order_id got two result jobs', () => {
    const s = summarizeDemo(run({ resultJobs: 4 }));
    expect(s.ok).toBe(false);
    expect(s.problems).toEqual(['4 result jobs for 3 merchant_order_ids: some merchant_order_id got more than one']);
    expect(renderDemoSummary(s)).toContain('results match the sandbox: no');
  });

  it('fails when an invalid intent was not rejected, and when the wait gave up', () => {
    const placedInvalid = result('c', 'completed', 10);
    const base = run();
    const s = summarizeDemo({
      ...base,
      results: new Map([...base.results, ['c', placedInvalid]]),
      sandboxOrders: [...base.sandboxOrders, order(placedInvalid)],
      waitFailure: 'only 2 of 3 results after 120000 ms; last lines:\n[worker-1] …',
    });
    expect(s.ok).toBe(false);
    expect(s.timedOut).toBe(true);
    expect(s.problems).toEqual(['only 2 of 3 results after 120000 ms; last lines:', 'c: an invalid intent (sold-out item 7300) ended completed (order id-c), expected rejected']);
  });
});
