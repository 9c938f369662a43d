import { LOG_EVENT, parseLogLine } from '../../src/logging/log-events.js';

/** A result a worker said it emitted (its `result_emitted` line). */
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
  /** Every `result_emitted` line; a merchant_order_id may be emitted again after a crash (a no-op), never differently. */
  emitted: ReadonlyMap<string, readonly EmittedResult[]>;
  /** merchant_order_ids whose create a worker reported as ambiguous (timeout, reset, 5xx, or a landed earlier attempt). */
  ambiguousCreates: ReadonlySet<string>;
  /** Lines that were not JSON (stack traces, node warnings). */
  unparsedLines: number;
}

/**
 * Collects, from every fleet log line as it arrives, the few facts the chaos checks need that no
 * other source holds: when the receiver stored each webhook, and which results workers emitted.
 * Lines are told apart by their `event` field (logging/log-events.ts), never by their message.
 */
export class LogFactCollector {
  private readonly accepted = new Map<string, number>();
  private readonly emitted = new Map<string, EmittedResult[]>();
  private readonly ambiguous = new Set<string>();
  private unparsed = 0;

  /** Read one line written by `process`. */
  read(process: string, line: string): void {
    if (!line.startsWith('{')) {
      this.unparsed += 1;
      return;
    }
    // Cheap test first: most lines carry no event, and none of those is read here.
    if (!line.includes('"event":')) return;
    const fields = parseLogLine(line);
    if (fields === null) {
      this.unparsed += 1;
      return;
    }
    const mid = fields.merchant_order_id;
    if (typeof mid !== 'string') return;
    switch (fields.event) {
      case LOG_EVENT.webhookAccepted: {
        const time = fields.time;
        if (typeof time === 'number' && time < (this.accepted.get(mid) ?? Number.POSITIVE_INFINITY)) this.accepted.set(mid, time);
        return;
      }
      case LOG_EVENT.resultEmitted: {
        const status = typeof fields.status === 'string' ? fields.status : '?';
        const orderId = typeof fields.order_id === 'string' ? fields.order_id : null;
        this.emitted.set(mid, [...(this.emitted.get(mid) ?? []), { process, status, orderId }]);
        return;
      }
      case LOG_EVENT.createAmbiguous:
      case LOG_EVENT.awaitingWebhook:
        this.ambiguous.add(mid);
        return;
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
