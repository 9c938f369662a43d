import type { OrderIntent } from '../../src/lifecycle/intent.js';

/** One intent in twenty is a top-up and one a service; the rest are key item 4090 (1–3 keys). */
const MIX_PERIOD = 20;

/**
 * `count` valid intents for the sample catalog, deterministic for a given `idPrefix`: mostly key
 * item 4090 (quantities 1–3, so partial outcomes can happen), with a few top-ups (5100) and
 * services (6200) so every product type's path is on the clock. `start` is the index of the first
 * (`<idPrefix>-<start>`), so a long run can make its intents batch by batch instead of all at once.
 */
export function benchIntents(count: number, idPrefix: string, start = 0): OrderIntent[] {
  return Array.from({ length: count }, (_, k): OrderIntent => {
    const i = start + k;
    const merchant_order_id = `${idPrefix}-${i}`;
    switch (i % MIX_PERIOD) {
      case 7:
        return { merchant_order_id, item_id: 5100, quantity: 10, fields: { player_id: `p-${i}`, server: 17 } };
      case 13:
        return { merchant_order_id, item_id: 6200, fields: { account_name: `acct-${i}` } };
      default:
        return { merchant_order_id, item_id: 4090, quantity: 1 + (i % 3) };
    }
  });
}
