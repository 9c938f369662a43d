/** A result a worker said it emitted (its `result emitted` line). */
export interface EmittedResult {
  /** Process that emitted it. */
  process: string;
  status: string;
  orderId: string | null;
}

/** What the fleet's log lines say happened, per merchant_order_id. */
export interface LogFacts {
  /** First time the receiver stored a webhook event for the merchant_order_id (epoch ms, the line's `time`). */
  webhookAcceptedAtMs: ReadonlyMap<string, number>;
  /** Every `result emitted` line; a merchant_order_id may be emitted again after a crash (a no-op), never differently. */
  emitted: ReadonlyMap<string, readonly EmittedResult[]>;
  /** merchant_order_ids whose create a worker reported as ambiguous (timeout, reset, 5xx, or a landed earlier attempt). */
  ambiguousCreates: ReadonlySet<string>;
  /** Lines that were not JSON (stack traces, node warnings). */
  unparsedLines: number;
}

// The messages of the worker and receiver this reads (src/handlers/order-effects.ts,
// src/webhook/webhook-receiver.ts). A renamed message only makes a fact go missing, which the
// checks report as a problem rather than passing silently.
const WEBHOOK_ACCEPTED = 'webhook event accepted';
const RESULT_EMITTED = 'result emitted';
const AMBIGUOUS_MESSAGES: ReadonlySet<string> = new Set([
  'create outcome unknown: retrying with the same merchant_order_id',
  'an earlier attempt may have landed but its order id is unknown: waiting for the webhook',
]);

/**
 * Collects, from every fleet log line as it arrives, the few facts the chaos checks need that no
 * other source holds: when the receiver stored each webhook, and which results workers emitted.
 */
export class LogFactCollector {
  private readonly accepted = new Map<string, number>();
  private readonly emitted = new Map<string, EmittedResult[]>();
  private readonly ambiguous = new Set<string>();
  private unparsed = 0;

  /** Read one line written by `process`. */
  read(process: string, line: string): void {
    // Cheap test first: most lines are none of ours.
    if (!line.includes(WEBHOOK_ACCEPTED) && !line.includes(RESULT_EMITTED) && !line.includes('create outcome unknown') && !line.includes('an earlier attempt may have landed')) {
      if (!line.startsWith('{')) this.unparsed += 1;
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      this.unparsed += 1;
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) return;
    const fields = parsed as Record<string, unknown>;
    const mid = fields.merchant_order_id;
    if (typeof mid !== 'string') return;
    const msg = fields.msg;
    if (msg === WEBHOOK_ACCEPTED) {
      const time = fields.time;
      if (typeof time === 'number' && time < (this.accepted.get(mid) ?? Number.POSITIVE_INFINITY)) this.accepted.set(mid, time);
    } else if (msg === RESULT_EMITTED) {
      const status = typeof fields.status === 'string' ? fields.status : '?';
      const orderId = typeof fields.order_id === 'string' ? fields.order_id : null;
      this.emitted.set(mid, [...(this.emitted.get(mid) ?? []), { process, status, orderId }]);
    } else if (typeof msg === 'string' && AMBIGUOUS_MESSAGES.has(msg)) {
      this.ambiguous.add(mid);
    }
  }

  /** The facts so far (copies). */
  facts(): LogFacts {
    return {
      webhookAcceptedAtMs: new Map(this.accepted),
      emitted: new Map([...this.emitted].map(([mid, list]) => [mid, [...list]])),
      ambiguousCreates: new Set(this.ambiguous),
      unparsedLines: this.unparsed,
    };
  }
}
