import { describe, expect, it } from 'vitest';
import type { SandboxOrderRecord } from '../../../src/sandbox/sandbox-types.js';
import { resultProblems } from '../../../tools/checks/result-check.js';
import { sampleResult } from '../../support/fixtures.js';

function order(mid: string, overrides: Partial<SandboxOrderRecord> = {}): SandboxOrderRecord {
  return {
    id: `id-${mid}`,
    merchantOrderId: mid,
    itemId: 4090,
    productType: 'key',
    quantity: 2,
    status: 'completed',
    deliveredQuantity: 2,
    price: 18,
    refundAmount: 0,
    codes: ['A', 'B'],
    error: '',
    errorMessage: '',
    createdAt: '2026-01-01T00:00:00Z',
    completedAt: '2026-01-01T00:00:01Z',
    settledAtMs: 1,
    webhookAttempts: 1,
    ...overrides,
  };
}

const result = sampleResult;

describe('resultProblems', () => {
  it('finds nothing when every id has a result that agrees with the sandbox', () => {
    const results = new Map([
      ['a', result('a')],
      ['b', result('b', { status: 'rejected', order_id: null, error: 'validation_error' })],
      ['c', result('c', { status: 'unresolved', order_id: null })],
    ]);
    expect(resultProblems(['a', 'b', 'c'], results, [order('a'), order('c')])).toEqual([]);
  });

  it('names a missing result, a result nobody asked for, and a sandbox order nobody asked for', () => {
    const problems = resultProblems(['a', 'b'], new Map([['a', result('a')], ['x', result('x', { status: 'rejected', order_id: null })]]), [order('a'), order('y')]);
    expect(problems).toEqual(expect.arrayContaining(['b: no result', expect.stringMatching(/^x: a result for a merchant_order_id nobody enqueued/), expect.stringMatching(/^y: sandbox order/)]));
  });

  it('names every field that disagrees with the sandbox, without printing codes', () => {
    const problems = resultProblems(['a'], new Map([['a', result('a', { status: 'partial', refund_amount: 9, codes: ['SECRET'] })]]), [order('a')]);
    expect(problems).toContain('a: status partial ≠ sandbox completed');
    expect(problems).toContain('a: refund_amount 9 ≠ sandbox 0');
    expect(problems).toContain('a: codes (differ)');
    expect(problems.join('\n')).not.toContain('SECRET');
  });

  it('flags a rejection although the sandbox placed the order, unless it was rejected as a duplicate', () => {
    const rejected = (error: string) => new Map([['a', result('a', { status: 'rejected', order_id: null, error })]]);
    expect(resultProblems(['a'], rejected('validation_error'), [order('a')])).toEqual(['a: rejected but the sandbox has order id-a']);
    expect(resultProblems(['a'], rejected('duplicate_merchant_order_id'), [order('a')])).toEqual([]);
  });
});
