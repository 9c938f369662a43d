import { Counter, type Registry } from 'prom-client';

/**
 * What the receiver did with one delivery:
 * - `stored`: a new event, stored; `duplicate`: one stored before; `conflict`: for another order id
 *   than its merchant_order_id's, kept aside (all three answered 200);
 * - `bad_signature` (401), `malformed` (400: not JSON, not an event), `too_large` (413),
 *   `refused` (400: a signed event this system will not store, e.g. a merchant_order_id over the API's limit);
 * - `store_failed`: Redis did not take it (503, the API redelivers).
 */
export const WEBHOOK_OUTCOMES = ['stored', 'duplicate', 'conflict', 'bad_signature', 'malformed', 'too_large', 'store_failed', 'refused'] as const;
/** One of {@link WEBHOOK_OUTCOMES}. */
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

/** Count of webhook deliveries by outcome. */
export type WebhookCounter = (outcome: WebhookOutcome) => void;

/** Register `voodoo_webhooks_total{outcome}` on the receiver's registry. */
export function createWebhookCounter(registry: Registry): WebhookCounter {
  const webhooks = new Counter({
    name: 'voodoo_webhooks_total',
    help: 'Webhook deliveries by outcome: stored, duplicate, conflict, bad_signature, malformed, too_large, store_failed, refused',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  // Every series exists from the start: the alerts' increase() needs a sample before the first event.
  for (const outcome of WEBHOOK_OUTCOMES) webhooks.inc({ outcome }, 0);
  return (outcome) => webhooks.inc({ outcome });
}
