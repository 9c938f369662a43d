import { describe, expect, it } from 'vitest';
import { resultJobId } from '../../../src/queue/job-ids.js';
import { SoakResultCheck } from '../../../tools/bench/soak-result-check.js';
import { resultOfSandboxOrder, sandboxOrder } from '../../support/sandbox-fixtures.js';

const mid = (i: number): string => `soak-${i}`;

/** A check of `orders` orders with the sandbox orders of ids 0..orders-1 and the results a correct worker emits. */
function run(orders: number): { check: SoakResultCheck; sandbox: ReturnType<typeof sandboxOrder>[] } {
  return { check: new SoakResultCheck(orders, 'soak'), sandbox: Array.from({ length: orders }, (_, i) => sandboxOrder(mid(i))) };
}

describe('SoakResultCheck', () => {
  it('passes a run whose every id got one result matching the sandbox, judged window by window', () => {
    const { check, sandbox } = run(4);
    for (const i of [0, 1]) check.add(resultOfSandboxOrder(sandbox[i] ?? sandboxOrder('?')), resultJobId(mid(i)));
    expect(check.windowSize).toBe(2);
    check.checkWindow(sandbox);
    // The window's results are dropped once judged.
    expect(check.windowSize).toBe(0);
    for (const i of [2, 3]) check.add(resultOfSandboxOrder(sandbox[i] ?? sandboxOrder('?')), resultJobId(mid(i)));
    expect(check.results).toBe(4);
    expect(check.byStatus()).toMatchObject({ completed: 4, failed: 0 });
    expect(check.finish(sandbox)).toEqual({ ok: true, problemCount: 0, problems: [] });
  });

  it('finds a result that disagrees with the sandbox', () => {
    const { check, sandbox } = run(1);
    check.add(resultOfSandboxOrder(sandboxOrder(mid(0)), { delivered_quantity: 1 }), resultJobId(mid(0)));
    check.checkWindow(sandbox);
    expect(check.finish(sandbox).problems).toEqual(['soak-0: delivered_quantity 1 ≠ sandbox 2']);
  });

  it('counts a redelivered result job once, and a second result job as a problem', () => {
    const { check, sandbox } = run(1);
    const result = resultOfSandboxOrder(sandboxOrder(mid(0)));
    check.add(result, resultJobId(mid(0)));
    check.add(result, resultJobId(mid(0)));
    check.add({ ...result, status: 'rejected' }, 'result-soak-0-again');
    expect(check.results).toBe(1);
    expect(check.redeliveries).toBe(1);
    expect(check.finish(sandbox).problems).toEqual(['soak-0: a second result job (result-soak-0-again, rejected)']);
  });

  it('names ids without a result, results nobody enqueued, sandbox orders without a result and double charges', () => {
    const { check, sandbox } = run(3);
    check.add(resultOfSandboxOrder(sandboxOrder(mid(0))), resultJobId(mid(0)));
    check.add(resultOfSandboxOrder(sandboxOrder('other-1')), resultJobId('other-1'));
    const extra = [sandboxOrder(mid(0), { id: 'order-again' }), sandboxOrder('stranger')];
    const correctness = check.finish([...sandbox, ...extra], ['no new result for 5 s']);
    expect(correctness.ok).toBe(false);
    expect(correctness.problems).toEqual([
      'no new result for 5 s',
      '2 merchant_order_id(s) without a result (the first: soak-1)',
      'other-1: a result for a merchant_order_id nobody enqueued',
      'soak-0: charged 2 times (order-soak-0, order-again; 36.00 in all)',
      'soak-1: sandbox order order-soak-1 has no result',
      'soak-2: sandbox order order-soak-2 has no result',
      'soak-0: charged more than once in the sandbox',
      'sandbox order order-stranger for stranger, which nobody enqueued',
    ]);
    expect(correctness.problemCount).toBe(8);
  });

  it('accepts a resolution of an unresolved result only', () => {
    const { check, sandbox } = run(2);
    const unresolved = resultOfSandboxOrder(sandboxOrder(mid(0)), { status: 'unresolved', order_id: null });
    check.add(unresolved, resultJobId(mid(0)));
    check.add({ ...resultOfSandboxOrder(sandboxOrder(mid(0))), resolves: 'unresolved' }, `resolution-${mid(0)}`);
    check.add({ ...resultOfSandboxOrder(sandboxOrder(mid(1))), resolves: 'unresolved' }, `resolution-${mid(1)}`);
    check.add(resultOfSandboxOrder(sandboxOrder(mid(1))), resultJobId(mid(1)));
    expect(check.finish(sandbox).problems).toEqual(['soak-1: a resolution of a result that was not unresolved (or not yet consumed)']);
  });

  it('keeps the first 20 problems and counts them all', () => {
    const { check } = run(50);
    const correctness = check.finish([]);
    expect(correctness.problems).toEqual(['50 merchant_order_id(s) without a result (the first: soak-0)']);
    const noisy = new SoakResultCheck(30, 'soak');
    for (let i = 0; i < 30; i++) noisy.add(resultOfSandboxOrder(sandboxOrder(`x-${i}`)), resultJobId(`x-${i}`));
    const many = noisy.finish([]);
    expect(many.problemCount).toBe(31);
    expect(many.problems).toHaveLength(20);
  });
});
