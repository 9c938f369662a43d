import type { OrderResult } from '../../src/lifecycle/order-state.js';
import type { SandboxOrderRecord } from '../../src/sandbox/sandbox-types.js';

/**
 * Check a run's results against what was enqueued and against the sandbox's own records; returns
 * every problem found (empty = all good):
 * - every expected merchant_order_id has a result, and no other result exists;
 * - a result naming an order agrees with the sandbox on id, status, delivered quantity, refund,
 *   price and codes (the same comparison as the e2e harness);
 * - a `rejected` result has no order behind it (unless it was rejected as a duplicate);
 * - every sandbox order belongs to an expected merchant_order_id and has a result.
 * `unresolved` results are not compared: not knowing is an allowed outcome.
 */
export function resultProblems(
  expected: readonly string[],
  results: ReadonlyMap<string, OrderResult>,
  sandboxOrders: readonly SandboxOrderRecord[],
): string[] {
  const problems: string[] = [];
  const expectedSet = new Set(expected);
  for (const mid of expectedSet) {
    if (!results.has(mid)) problems.push(`${mid}: no result`);
  }
  for (const mid of results.keys()) {
    if (!expectedSet.has(mid)) problems.push(`${mid}: a result for a merchant_order_id nobody enqueued`);
  }

  const byMid = new Map<string, SandboxOrderRecord[]>();
  for (const order of sandboxOrders) {
    if (order.merchantOrderId === null) {
      problems.push(`sandbox order ${order.id} has no merchant_order_id`);
      continue;
    }
    byMid.set(order.merchantOrderId, [...(byMid.get(order.merchantOrderId) ?? []), order]);
  }
  for (const [mid, orders] of byMid) {
    if (orders.length > 1) problems.push(`${mid}: ${orders.length} sandbox orders`);
    if (!expectedSet.has(mid)) problems.push(`${mid}: sandbox order ${orders[0]?.id ?? '?'} for a merchant_order_id nobody enqueued`);
  }

  for (const [mid, result] of results) {
    const truth = byMid.get(mid)?.[0];
    if (result.status === 'rejected') {
      if (truth && result.error !== 'duplicate_merchant_order_id') problems.push(`${mid}: rejected but the sandbox has order ${truth.id}`);
      continue;
    }
    if (result.status === 'unresolved') continue;
    if (!truth) {
      problems.push(`${mid}: ${result.status} but the sandbox has no order`);
      continue;
    }
    const pairs: [string, unknown, unknown][] = [
      ['order_id', result.order_id, truth.id],
      ['status', result.status, truth.status],
      ['delivered_quantity', result.delivered_quantity, truth.deliveredQuantity],
      ['refund_amount', result.refund_amount, truth.refundAmount],
      ['price', result.price, truth.price],
      ['codes', JSON.stringify(result.codes), JSON.stringify(truth.codes)],
    ];
    for (const [field, got, want] of pairs) {
      // Never print codes: they are what the merchant paid for.
      if (got !== want) problems.push(`${mid}: ${field} ${field === 'codes' ? '(differ)' : `${String(got)} ≠ sandbox ${String(want)}`}`);
    }
  }
  return problems;
}
