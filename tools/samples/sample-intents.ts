import type { OrderIntent } from '../../src/lifecycle/intent.js';
import { seededRandom, streamSeed, type Random } from '../../src/sandbox/seeded-random.js';

/**
 * What a sample intent exercises:
 * - `valid`: an order the sample catalog can fulfil.
 * - `invalid`: ends as a `rejected` result (bad quantity, unknown item, missing field, sold out).
 * - `duplicate`: a second intent with the merchant_order_id of an earlier one: no second order, no second result.
 */
export type SampleIntentKind = 'valid' | 'invalid' | 'duplicate';

/** One intent as a producer would add it, with what it is meant to show. */
export interface SampleIntent {
  /** The `order-intents` job data. */
  intent: OrderIntent;
  kind: SampleIntentKind;
  /** What it shows, e.g. `sold-out item 7300`. */
  note: string;
}

/** The kinds of mistake an invalid sample intent makes. */
export type InvalidCaseName = 'quantity-not-positive' | 'quantity-above-max' | 'unknown-item' | 'missing-field' | 'sold-out';

/** Every kind of invalid sample intent (the demo's mix). */
export const ALL_INVALID_CASES: readonly InvalidCaseName[] = ['quantity-not-positive', 'quantity-above-max', 'unknown-item', 'missing-field', 'sold-out'];

/**
 * The invalid cases whose rejection proves the request itself wrong, whatever an earlier attempt
 * did: the item does not exist, the quantity is out of range, a required field is missing. Left
 * out: the sold-out item, whose rejection depends on the moment (after an ambiguous attempt it may
 * rightly wait for a webhook and end `unresolved` with no order).
 */
export const PROVABLE_INVALID_CASES: readonly InvalidCaseName[] = ['quantity-not-positive', 'quantity-above-max', 'unknown-item', 'missing-field'];

/** Options of {@link sampleIntents}. */
export interface SampleIntentsOptions {
  /** Seed of the quantities and product mix. Default 1. */
  seed?: number;
  /** Prefix of every merchant_order_id. Default `demo`. */
  idPrefix?: string;
  /** Include invalid intents. Default true. */
  invalid?: boolean;
  /** Which kinds of invalid intent, used in turn. Default {@link ALL_INVALID_CASES}; empty means none. */
  invalidCases?: readonly InvalidCaseName[];
  /** Share of the batch that is invalid, 0..1 (at least one of each case once there is room). Default 0.02. */
  invalidShare?: number;
  /** Include duplicates. Default true. */
  duplicates?: boolean;
}

/** A generated batch. */
export interface SampleBatch {
  /** Every intent, in enqueue order (`count` of them). */
  intents: SampleIntent[];
  /** Distinct merchant_order_ids: exactly the results the batch must produce. */
  merchantOrderIds: string[];
}

const TOPUP_FIELDS = { player_id: 'p-123', server: 17 };

/** The sample catalog's invalid cases (see src/catalog/sample-items.ts), one per kind of mistake. */
const INVALID_CASES: Record<InvalidCaseName, { note: string; make: (mid: string) => OrderIntent }> = {
  'quantity-not-positive': { note: 'non-positive quantity', make: (mid) => ({ merchant_order_id: mid, item_id: 4090, quantity: 0 }) },
  'quantity-above-max': { note: 'quantity above the item maximum', make: (mid) => ({ merchant_order_id: mid, item_id: 4091, quantity: 11 }) },
  'unknown-item': { note: 'unknown item', make: (mid) => ({ merchant_order_id: mid, item_id: 999_999, quantity: 1 }) },
  'missing-field': {
    note: 'missing required field',
    make: (mid) => ({ merchant_order_id: mid, item_id: 5100, quantity: 10, fields: { player_id: 'p-123' } }),
  },
  'sold-out': { note: 'sold-out item 7300', make: (mid) => ({ merchant_order_id: mid, item_id: 7300, quantity: 1 }) },
};

const TOPUP_AMOUNTS = [5, 10, 12.5, 25, 50, 99.99, 250];

function validIntent(mid: string, random: Random): SampleIntent {
  const roll = random.next();
  if (roll < 0.45) {
    return { intent: { merchant_order_id: mid, item_id: 4090, quantity: random.int(1, 5) }, kind: 'valid', note: 'gift card keys' };
  }
  if (roll < 0.6) {
    return { intent: { merchant_order_id: mid, item_id: 4091, quantity: random.int(1, 3) }, kind: 'valid', note: 'game keys' };
  }
  if (roll < 0.85) {
    const quantity = TOPUP_AMOUNTS[random.int(0, TOPUP_AMOUNTS.length - 1)] ?? 10;
    return { intent: { merchant_order_id: mid, item_id: 5100, quantity, fields: { ...TOPUP_FIELDS } }, kind: 'valid', note: 'top-up' };
  }
  return { intent: { merchant_order_id: mid, item_id: 6200, fields: { account_name: `acct-${mid}` } }, kind: 'valid', note: 'service' };
}

/** How many of `count` intents are invalid: every one of `cases` once as soon as there is room, then about `share`. */
function invalidCount(count: number, cases: number, share: number): number {
  if (count < 10 || cases === 0) return 0;
  return Math.max(Math.min(cases, Math.floor(count / 8)), Math.round(count * share));
}

/** About 1 %, at least one once there are a few intents to copy. */
function duplicateCount(count: number): number {
  return count < 4 ? 0 : Math.max(1, Math.round(count * 0.01));
}

/**
 * `count` deterministic sample intents for the sample catalog: key items with quantities, top-ups with
 * valid fields, services, and — spread evenly through the batch — a few invalid intents (each chosen
 * kind of mistake in turn) and a few duplicates of earlier valid ones. Same `count`, seed and
 * options, same batch.
 */
export function sampleIntents(count: number, options: SampleIntentsOptions = {}): SampleBatch {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a whole number >= 0 (got ${count})`);
  const random = seededRandom(streamSeed(options.seed ?? 1, 'sample-intents'));
  const idPrefix = options.idPrefix ?? 'demo';
  const share = options.invalidShare ?? 0.02;
  if (!(share >= 0 && share <= 1)) throw new RangeError(`invalidShare must lie in 0..1 (got ${share})`);
  const cases = (options.invalidCases ?? ALL_INVALID_CASES).map((name) => INVALID_CASES[name]);
  const invalid = options.invalid === false ? 0 : invalidCount(count, cases.length, share);
  const duplicates = options.duplicates === false ? 0 : duplicateCount(count);
  const width = String(count).length;

  // Spread the special slots evenly; duplicates sit in the second half so there is something to copy.
  const special = new Map<number, 'invalid' | 'duplicate'>();
  for (let i = 0; i < invalid; i++) special.set(Math.floor(((i + 0.5) * count) / invalid), 'invalid');
  for (let i = 0; i < duplicates; i++) {
    let slot = Math.floor(count / 2 + ((i + 0.75) * count) / (2 * duplicates));
    while (special.has(slot) && slot < count - 1) slot += 1;
    special.set(Math.min(slot, count - 1), 'duplicate');
  }

  const intents: SampleIntent[] = [];
  const valid: SampleIntent[] = [];
  let invalidSeen = 0;
  for (let i = 0; i < count; i++) {
    const mid = `${idPrefix}-${String(i).padStart(width, '0')}`;
    const slot = special.get(i);
    const original = slot === 'duplicate' ? valid[random.int(0, Math.max(0, valid.length - 1))] : undefined;
    if (original !== undefined) {
      intents.push({ intent: structuredClone(original.intent), kind: 'duplicate', note: `same merchant_order_id as ${original.intent.merchant_order_id}` });
      continue;
    }
    const invalidCase = slot === 'invalid' ? cases[invalidSeen++ % cases.length] : undefined;
    if (invalidCase !== undefined) {
      intents.push({ intent: invalidCase.make(mid), kind: 'invalid', note: invalidCase.note });
      continue;
    }
    const sample = validIntent(mid, random);
    valid.push(sample);
    intents.push(sample);
  }
  const merchantOrderIds = [...new Set(intents.map((s) => s.intent.merchant_order_id))];
  return { intents, merchantOrderIds };
}

/** The invalid samples of a batch: merchant_order_id → what is wrong with it (the checker's `mustReject`). */
export function invalidSampleNotes(samples: readonly SampleIntent[]): Map<string, string> {
  return new Map(samples.filter((s) => s.kind === 'invalid').map((s) => [s.intent.merchant_order_id, s.note]));
}
