import { describe, expect, it } from 'vitest';
import { PASS_TEXT, renderChaosReport } from '../../../tools/chaos/chaos-report.js';
import { summarizeChaos, type ChaosObservations } from '../../../tools/chaos/chaos-summary.js';
import type { OrderResult } from '../../../src/lifecycle/order-state.js';
import type { SandboxOrderRecord } from '../../../src/sandbox/sandbox-types.js';

const RESOLVED_AT = '2026-06-10T12:00:30.000Z';

function order(mid: string, price: number, over: Partial<SandboxOrderRecord> = {}): SandboxOrderRecord {
  return {
    id: `order-${mid}`,
    merchantOrderId: mid,
    itemId: 4090,
    productType: 'key',
    quantity: 1,
    status: 'completed',
    deliveredQuantity: 1,
    price,
    refundAmount: 0,
    codes: [`VOODOO-AAAA-BBBB-CC${mid.length}C`],
    error: '',
    errorMessage: '',
    createdAt: '2026-06-10T12:00:00.000Z',
    completedAt: '2026-06-10T12:00:01.000Z',
    settledAtMs: 0,
    webhookAttempts: 1,
    ...over,
  };
}

function resultOf(o: SandboxOrderRecord): OrderResult {
  return {
    merchant_order_id: o.merchantOrderId ?? '',
    order_id: o.id,
    status: o.status === 'partial' ? 'partial' : o.status === 'failed' ? 'failed' : 'completed',
    item_id: o.itemId,
    quantity: o.quantity,
    price: o.price,
    delivered_quantity: o.deliveredQuantity,
    refund_amount: o.refundAmount,
    codes: [...o.codes],
    fields: {},
    error: o.error,
    error_message: o.errorMessage,
    created_at: o.createdAt,
    completed_at: o.completedAt,
    resolved_at: RESOLVED_AT,
    source: 'webhook',
    warnings: [],
    resolves: null,
  };
}

function unresolved(mid: string): OrderResult {
  return { ...resultOf(order(mid, 0)), order_id: null, status: 'unresolved', price: null, codes: [], error: 'unresolved', source: 'worker', warnings: [], resolves: null };
}

/** An invalid intent the worker rejected, 2 s after it was enqueued. */
function rejected(mid: string): OrderResult {
  return { ...unresolved(mid), status: 'rejected', error: 'validation_error', error_message: 'item_id: no such item' };
}

/**
 * A small clean run: two orders (one partial), one dropped webhook behind an unresolved result,
 * one invalid intent rejected 2 s after it was enqueued (after an ambiguous create).
 */
function cleanRun(): ChaosObservations {
  const orders = [order('a', 18), order('b', 20, { status: 'partial', refundAmount: 5, deliveredQuantity: 1 }), order('c', 9, { webhookAttempts: 0 })];
  const [a, b] = orders;
  if (a === undefined || b === undefined) throw new Error('unreachable');
  const results = new Map<string, OrderResult>([
    ['a', resultOf(a)],
    ['b', resultOf(b)],
    ['c', unresolved('c')],
    ['x', rejected('x')],
  ]);
  const enqueuedAtMs = Date.parse(RESOLVED_AT) - 2_000;
  return {
    seed: 7,
    workers: 3,
    intents: 4,
    expected: ['a', 'b', 'c', 'x'],
    mustReject: new Map([['x', 'unknown item']]),
    enqueuedAtMs: new Map(['a', 'b', 'c', 'x'].map((mid) => [mid, enqueuedAtMs])),
    results,
    resultJobs: 4,
    failedIntentJobs: [],
    recoveredIntentJobs: 4,
    sandboxOrders: orders,
    stats: {
      calls: { token: 3, balance: 2, create: 5, lookup: 1 },
      faults: { 'create.resetAfterCommit': 2, 'webhook.drop': 1, 'lookup.serverError': 0 },
      webhooks: { sent: 2, acknowledged: 2, failed: 0, dropped: 1, abandoned: 0 },
      charged: 47,
      refunded: 5,
    },
    balance: { initial: 1000, final: 958 },
    actions: { kills: 5, workerRestarts: 5, bursts: 2, redisRestarts: 1, failures: [] },
    facts: {
      webhookAcceptedAtMs: new Map([
        ['a', 1],
        ['b', 2],
      ]),
      emitted: new Map([
        ['a', [{ process: 'worker-1', status: 'completed', orderId: 'order-a' }]],
        ['c', [{ process: 'worker-2', status: 'unresolved', orderId: null }]],
      ]),
      ambiguousCreates: new Set(['c', 'x']),
      unparsedLines: 2,
    },
    leaks: [],
    droppedLeaks: 0,
    linesScanned: new Map([
      ['worker-1', 10],
      ['webhook-1', 5],
    ]),
    linesWritten: new Map([
      ['worker-1', 10],
      ['webhook-1', 5],
    ]),
    crashed: [],
    waitFailure: null,
    durationMs: 12_345,
    plan: { killEveryMs: 1000, burstEveryMs: 4000, burstMs: 1000, redisDownMs: 1000, lockMs: 5000, resolveTimeoutMs: 20000, catalog: false },
  };
}

describe('summarizeChaos', () => {
  it('passes a clean run and gathers its figures', () => {
    const s = summarizeChaos(cleanRun());
    expect(s.problems).toEqual([]);
    expect(s.ok).toBe(true);
    expect(s.byStatus).toEqual({ completed: 1, partial: 1, failed: 0, rejected: 1, unresolved: 1 });
    expect(s.unresolved).toEqual({ no_order: 0, webhook_dropped: 1, webhook_never_stored: 0, webhook_late: 0 });
    expect(s.invalidIntents).toEqual({
      intents: 1,
      rejectedInTime: 1,
      byCode: { validation_error: 1 },
      slowestMs: 2_000,
      afterAmbiguousCreate: 1,
      limitMs: 60_000,
    });
    expect(s.maxOrdersPerMerchantOrderId).toBe(1);
    expect(s.money).toEqual({ initial: 1000, charged: 47, refunded: 5, final: 958 });
    expect(s.logLines).toBe(15);
    expect(s.ambiguousCreates).toBe(2);
    expect(s.nonJsonLogLines).toBe(2);
  });

  it('fails on any problem from any check, the wait and the chaos actions included', () => {
    const run = cleanRun();
    const s = summarizeChaos({
      ...run,
      balance: { initial: 1000, final: 900 },
      waitFailure: 'only 2 of 3 results after 1000 ms; last lines:\n[worker-1] ...',
      crashed: ['webhook-1'],
      actions: { ...run.actions, failures: ['replacing worker-3 failed: worker-9 exited (1) before it was ready; last lines:\nSyntaxError'] },
    });
    expect(s.ok).toBe(false);
    expect(s.problems).toEqual([
      'only 2 of 3 results after 1000 ms; last lines:',
      'webhook-1 exited without being stopped',
      'replacing worker-3 failed: worker-9 exited (1) before it was ready; last lines:\nSyntaxError',
      'balance does not reconcile: initial 1000.00 − charged 47.00 + refunded 5.00 = 958.00, but the final balance is 900.00',
    ]);
  });
});

describe('summarizeChaos: invalid intents and unresolved results', () => {
  it('fails when an invalid intent is rejected late or waits, and when an unresolved result has no order or a stored webhook', () => {
    const run = cleanRun();
    const results = new Map(run.results);
    results.set('x', { ...rejected('x'), resolved_at: new Date(Date.parse(RESOLVED_AT) + 60_000).toISOString() });
    results.set('y', { ...unresolved('y'), error_message: 'no webhook within RESOLVE_TIMEOUT_MS' });
    results.set('d', unresolved('d'));
    const orders = [...run.sandboxOrders, order('d', 9, { webhookAttempts: 3 })];
    const s = summarizeChaos({
      ...run,
      expected: [...run.expected, 'y', 'd'],
      mustReject: new Map([
        ['x', 'unknown item'],
        ['y', 'missing field'],
      ]),
      enqueuedAtMs: new Map([...run.enqueuedAtMs, ['y', 0], ['d', 0]]),
      results,
      resultJobs: results.size,
      sandboxOrders: orders,
      stats: { ...run.stats, charged: run.stats.charged + 9 },
      balance: { ...run.balance, final: run.balance.final - 9 },
    });
    expect(s.ok).toBe(false);
    expect(s.problems).toEqual([
      'x: an invalid intent (unknown item) was rejected 62.0 s after it was enqueued (limit 60 s)',
      'y: an invalid intent (missing field) ended unresolved (unresolved: no webhook within RESOLVE_TIMEOUT_MS), expected rejected',
      'y: unresolved but the sandbox has no order for it: nothing was placed, so no webhook could come (no webhook within RESOLVE_TIMEOUT_MS)',
      'd: unresolved; the sandbox sent the webhook of order order-d 3 time(s) but the receiver stored none',
    ]);
    expect(s.unresolved).toEqual({ no_order: 1, webhook_dropped: 1, webhook_never_stored: 1, webhook_late: 0 });
    expect(s.unresolvedOrders.map((u) => u.merchantOrderId)).toEqual(['c']);
    expect(s.invalidIntents).toMatchObject({ intents: 2, rejectedInTime: 0, slowestMs: 62_000 });
    const text = renderChaosReport(s);
    expect(text).toContain('webhook dropped 1 (allowed); no order 1, webhook never stored 1, webhook late 0 (problems)');
    expect(text).toMatch(/invalid intents\s+2 \(0 rejected within 60\.0 s: validation_error 1; slowest 62\.0 s; 1 after an ambiguous create\)/);
    expect(text).toContain('verdict: FAIL');
  });
});

describe('renderChaosReport', () => {
  it('prints the figures, the faults injected (none of the zero ones), the chaos actions and a PASS', () => {
    const text = renderChaosReport(summarizeChaos(cleanRun()));
    expect(text).toMatch(/4 intents, 4 distinct merchant_order_ids, 3 workers, seed 7, 12\.3 s/);
    expect(text).toContain('SIGKILL a worker every 1.0 s');
    expect(text).toContain('workers without a catalog (invalid intents meet the API)');
    expect(text).toMatch(/rejected\s+1\n/);
    expect(text).toMatch(/invalid intents\s+1 \(1 rejected within 60\.0 s: validation_error 1; slowest 2\.0 s; 1 after an ambiguous create\)/);
    expect(text).toContain('webhook dropped 1 (allowed); no order 0, webhook never stored 0, webhook late 0 (problems)');
    expect(text).toMatch(/completed\s+1\n/);
    expect(text).toMatch(/unresolved\s+1\n/);
    expect(text).toContain('c (order order-c): the sandbox dropped its webhook');
    expect(text).toMatch(/faults injected by the sandbox: 3/);
    expect(text).toMatch(/create\.resetAfterCommit\s+2/);
    expect(text).not.toContain('lookup.serverError');
    expect(text).toMatch(/worker kills \(SIGKILL\)\s+5 \(5 replacements started\)/);
    expect(text).toMatch(/redis restarts \(AOF\)\s+1/);
    expect(text).toContain('initial 1000.00 − charged 47.00 + refunded 5.00 = final 958.00');
    expect(text).toMatch(/log lines scanned\s+15 \(2 not JSON; secrets or codes found: 0\)/);
    expect(text).toContain('problems: 0');
    expect(text).toContain(`verdict: ${PASS_TEXT}`);
    expect(text).not.toContain('VOODOO-');
  });

  it('lists every problem, indenting the log lines a problem carries, and ends FAIL', () => {
    const run = cleanRun();
    const text = renderChaosReport(
      summarizeChaos({ ...run, actions: { ...run.actions, failures: ['replacing worker-3 failed: last lines:\n[worker-9] SyntaxError'] } }),
    );
    expect(text).toContain('problems: 1\n    - replacing worker-3 failed: last lines:\n        [worker-9] SyntaxError');
    expect(text).toContain('verdict: FAIL');
  });
});
