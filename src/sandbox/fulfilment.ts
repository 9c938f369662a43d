import type { Logger } from 'pino';
import { generateKeyCode } from './key-codes.js';
import type { Random } from './seeded-random.js';
import type { SandboxLedger, Settlement } from './sandbox-ledger.js';
import type { SandboxOrder } from './sandbox-order.js';
import type { OutcomeMix } from './sandbox-types.js';

/** Options of {@link Fulfilment}. */
export interface FulfilmentOptions {
  /** Shortest time from create to terminal status, in ms. */
  minMs: number;
  /** Longest time from create to terminal status, in ms. */
  maxMs: number;
  outcomes: OutcomeMix;
  ledger: SandboxLedger;
  /** Draws delays and outcomes. */
  random: Random;
  /** Draws key codes. */
  codeRandom: Random;
  /** Called once an order reached its terminal status (webhooks hang off this). */
  onSettled: (order: SandboxOrder) => void;
  logger?: Logger;
}

type Pending = { kind: 'timeout'; handle: NodeJS.Timeout } | { kind: 'immediate'; handle: NodeJS.Immediate };

const FAILURES = [
  { error: 'OUT_OF_STOCK', message: 'The item went out of stock before it could be delivered.' },
  { error: 'PROVIDER_ERROR', message: 'The provider could not deliver the item.' },
] as const;

/** Settles orders in the background: after a random delay, each reaches completed, partial or failed. */
export class Fulfilment {
  private readonly pending = new Map<string, Pending>();
  private stopped = false;

  constructor(private readonly options: FulfilmentOptions) {}

  /**
   * Start the clock of a freshly placed order. Half-way through it reads as `processing`. A zero
   * range settles on the next turn of the event loop: the benchmark runs that way, so it must stay cheap.
   */
  schedule(order: SandboxOrder): void {
    if (this.stopped) return;
    const { minMs, maxMs, random } = this.options;
    const delayMs = maxMs <= 0 ? 0 : minMs >= maxMs ? minMs : minMs + random.next() * (maxMs - minMs);
    if (delayMs <= 0) {
      this.pending.set(order.id, { kind: 'immediate', handle: setImmediate(() => this.settle(order)) });
      return;
    }
    order.processingAtMs = order.createdAtMs + delayMs / 2;
    this.pending.set(order.id, { kind: 'timeout', handle: setTimeout(() => this.settle(order), delayMs) });
  }

  /** Cancel every pending settlement; orders not yet settled stay pending for good. */
  stop(): void {
    this.stopped = true;
    for (const entry of this.pending.values()) {
      if (entry.kind === 'timeout') clearTimeout(entry.handle);
      else clearImmediate(entry.handle);
    }
    this.pending.clear();
  }

  private settle(order: SandboxOrder): void {
    this.pending.delete(order.id);
    if (this.stopped) return;
    if (!this.options.ledger.settle(order, this.outcome(order))) return;
    this.options.logger?.debug({ orderId: order.id, status: order.settledStatus }, 'sandbox order settled');
    this.options.onSettled(order);
  }

  private outcome(order: SandboxOrder): Settlement {
    const { outcomes, random, codeRandom } = this.options;
    // Partial needs at least two key units: one delivered, one not. Anything else falls back to the
    // remaining mix, so the completed:failed ratio is preserved.
    const partialPossible = order.item.productType === 'key' && order.quantity >= 2;
    const completed = Math.max(0, outcomes.completed);
    const failed = Math.max(0, outcomes.failed);
    const partial = partialPossible ? Math.max(0, outcomes.partial) : 0;
    const total = completed + partial + failed;
    const draw = random.next() * total;
    const status = total <= 0 || draw < completed ? 'completed' : draw < completed + partial ? 'partial' : 'failed';
    if (status === 'failed') {
      const failure = FAILURES[Math.floor(random.next() * FAILURES.length)] ?? FAILURES[0];
      return { status, deliveredQuantity: 0, codes: [], error: failure.error, errorMessage: failure.message };
    }
    const delivered = status === 'partial' ? random.int(1, order.quantity - 1) : order.quantity;
    const codes = order.item.productType === 'key' ? Array.from({ length: delivered }, () => generateKeyCode(codeRandom)) : [];
    return { status, deliveredQuantity: delivered, codes, error: '', errorMessage: '' };
  }
}
