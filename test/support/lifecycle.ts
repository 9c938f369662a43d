import type { Order } from '../../src/api/order.js';
import type { OrderLedger } from '../../src/ledger/order-ledger.js';
import { decide, initialState } from '../../src/lifecycle/order-machine.js';
import type { Intent, LifecyclePolicy, OrderEvent, OrderState } from '../../src/lifecycle/order-state.js';

/** A policy for tests: every limit a minute, retries and polls short. Override what a test is about. */
export function testPolicy(overrides: Partial<LifecyclePolicy> = {}): LifecyclePolicy {
  return {
    balanceWaitMaxMs: 60_000,
    resolveTimeoutMs: 60_000,
    pollInitialDelayMs: 1_000,
    pollWebhookDelayMs: 30_000,
    handOff: true,
    pollMaxDelayMs: 60_000,
    retryBaseDelayMs: 500,
    retryMaxDelayMs: 30_000,
    authFailurePauseMs: 30_000,
    orderStuckAfterMs: 3_600_000,
    ...overrides,
  };
}

/** A pending (or `status`) order of item 4090 × 2 for `mid`, priced 18, as the API answers it. */
export function apiOrder(mid: string, id: string, status: Order['status'] = 'pending', overrides: Partial<Order> = {}): Order {
  const completed = status === 'completed';
  return {
    id,
    status,
    merchantOrderId: mid,
    itemId: 4090,
    itemName: 'Sample Gift Card 10 USD',
    productType: 'key',
    quantity: 2,
    deliveredQuantity: completed ? 2 : 0,
    price: 18,
    refundAmount: status === 'failed' ? 18 : 0,
    fields: {},
    codes: completed ? ['CODE-1', 'CODE-2'] : [],
    error: status === 'failed' ? 'OUT_OF_STOCK' : null,
    errorMessage: status === 'failed' ? 'out of stock' : null,
    createdAt: '2026-11-25T00:00:00.000Z',
    completedAt: completed ? '2026-11-25T00:00:01.000Z' : null,
    ...overrides,
  };
}

/**
 * Claim `intent` in `ledger` and feed `events` through the machine, persisting each move as a worker
 * would (effects and actions are not performed). Returns the state reached.
 */
export async function driveLedger(
  ledger: OrderLedger,
  intent: Intent,
  events: readonly OrderEvent[],
  policy: LifecyclePolicy = testPolicy(),
  owner = `job-${intent.merchantOrderId}`,
): Promise<OrderState> {
  const claim = await ledger.claim(intent.merchantOrderId, owner, initialState(intent, Date.now()));
  if (claim.kind !== 'claimed' && claim.kind !== 'owner') throw new Error(`${intent.merchantOrderId} is not ours: ${claim.kind}`);
  let record = claim.record;
  for (const event of events) {
    const decision = decide(record.state, event, { policy, webhookAlive: false, webhookOrder: null, random: 0.5 });
    if (decision.state === record.state) continue;
    const saved = await ledger.save(intent.merchantOrderId, record.version, decision.state, record.owner);
    if (saved === null) throw new Error('conflict');
    record = saved;
  }
  return record.state;
}
