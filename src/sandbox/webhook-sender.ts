import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { signWebhook } from '../webhook/signature.js';
import { canonicalJson } from './canonical-json.js';
import type { FaultInjector } from './faults.js';
import { webhookEvent } from './order-view.js';
import type { SandboxOrder } from './sandbox-order.js';

/** Options of {@link WebhookSender}. */
export interface WebhookSenderOptions {
  url: string;
  secret: string;
  /** Retries after the first failed delivery. */
  retries: number;
  /** Gap between two deliveries of one event, in ms. */
  retryGapMs: number;
  /** A delivery not answered within this counts as failed, in ms. */
  timeoutMs: number;
  faults: FaultInjector;
  logger?: Logger;
}

/** Webhook delivery counters, as reported in `SandboxStats.webhooks`. */
export interface WebhookCounts {
  /** HTTP deliveries attempted (first tries, retries and duplicates). */
  sent: number;
  /** Deliveries answered 200. */
  acknowledged: number;
  /** Deliveries answered anything else, not answered in time, or not connected. */
  failed: number;
  /** Events never sent because of the `webhook.drop` fault. */
  dropped: number;
  /** Events given up after the last retry failed. */
  abandoned: number;
}

/**
 * Sends signed webhook events the way the API does: compact JSON with sorted keys, only a 200
 * acknowledges, redirects are not followed (node's http client never does), failures are retried
 * `retries` times `retryGapMs` apart. Owns its keep-alive agent so that close() can end every socket.
 */
export class WebhookSender {
  private readonly target: URL;
  private readonly agent: http.Agent;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<http.ClientRequest>();
  private readonly counts: WebhookCounts = { sent: 0, acknowledged: 0, failed: 0, dropped: 0, abandoned: 0 };
  private closed = false;

  constructor(private readonly options: WebhookSenderOptions) {
    this.target = new URL(options.url);
    const AgentClass = this.target.protocol === 'https:' ? https.Agent : http.Agent;
    // Enough parallel sockets for ~1000 events/s against a receiver answering in a few ms.
    this.agent = new AgentClass({ keepAlive: true, maxSockets: 64 });
  }

  /** Send the event of a settled order, subject to the webhook faults. */
  send(order: SandboxOrder): void {
    if (this.closed) return;
    const { faults } = this.options;
    if (faults.roll('webhook.drop')) {
      this.counts.dropped += 1;
      return;
    }
    const body = Buffer.from(canonicalJson(webhookEvent(order)));
    const signature = signWebhook(this.options.secret, body);
    const duplicate = faults.roll('webhook.duplicate');
    const firstDelayMs = faults.roll('webhook.delay') ? faults.webhookDelayMs : 0;
    // A duplicate follows once the first chain is over, as when an acknowledgement is lost.
    const onChainDone = duplicate ? () => this.deliver(order, body, signature, 0) : undefined;
    this.later(firstDelayMs, () => this.deliver(order, body, signature, 0, onChainDone));
  }

  /** Delivery counters so far. */
  stats(): WebhookCounts {
    return { ...this.counts };
  }

  /**
   * Cancel every scheduled delivery, abort those in flight and close the agent's sockets.
   * Resolves once every socket has closed, so a caller's leak check sees none left.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const sockets = new Set<Socket>();
    for (const request of this.inFlight) {
      if (request.socket) sockets.add(request.socket);
      request.destroy();
    }
    this.inFlight.clear();
    for (const list of [...Object.values(this.agent.sockets), ...Object.values(this.agent.freeSockets)]) {
      for (const socket of list ?? []) sockets.add(socket);
    }
    this.agent.destroy();
    await Promise.all(
      [...sockets].map(async (socket) => {
        if (socket.closed) return;
        socket.destroy();
        await once(socket, 'close');
      }),
    );
  }

  private later(delayMs: number, run: () => void): void {
    if (delayMs <= 0) {
      run();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, delayMs);
    this.timers.add(timer);
  }

  private deliver(order: SandboxOrder, body: Buffer, signature: string, attempt: number, onDone?: () => void): void {
    if (this.closed) return;
    order.webhookAttempts += 1;
    this.counts.sent += 1;
    this.post(body, signature, (acknowledged, reason) => {
      if (this.closed) return;
      if (acknowledged) {
        this.counts.acknowledged += 1;
        onDone?.();
        return;
      }
      this.counts.failed += 1;
      if (attempt < this.options.retries) {
        this.later(this.options.retryGapMs, () => this.deliver(order, body, signature, attempt + 1, onDone));
        return;
      }
      this.counts.abandoned += 1;
      this.options.logger?.warn({ orderId: order.id, attempts: attempt + 1, reason }, 'sandbox webhook abandoned after the last retry');
      onDone?.();
    });
  }

  /** One HTTP delivery; `done` is called exactly once. */
  private post(body: Buffer, signature: string, done: (acknowledged: boolean, reason: string) => void): void {
    const transport = this.target.protocol === 'https:' ? https : http;
    const request = transport.request(this.target, {
      method: 'POST',
      agent: this.agent,
      headers: {
        'content-type': 'application/json',
        'content-length': body.length,
        'x-webhook-signature': signature,
      },
    });
    this.inFlight.add(request);
    let finished = false;
    const timer = setTimeout(() => {
      request.destroy();
      finish(false, 'timeout');
    }, this.options.timeoutMs);
    const finish = (acknowledged: boolean, reason: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      this.inFlight.delete(request);
      done(acknowledged, reason);
    };
    request.on('response', (response) => {
      // Drain the body so the keep-alive socket can be reused.
      response.resume();
      finish(response.statusCode === 200, `status ${response.statusCode ?? 'unknown'}`);
    });
    request.on('error', (err) => finish(false, err.message));
    request.end(body);
  }
}
