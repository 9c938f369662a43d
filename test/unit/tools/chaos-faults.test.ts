import { describe, expect, it } from 'vitest';
import { isRequestRejection } from '../../../src/api/error-mapping.js';
import { Catalog } from '../../../src/catalog/catalog.js';
import { checkOrder } from '../../../src/catalog/order-rules.js';
import { sampleCatalogItems } from '../../../src/catalog/sample-items.js';
import { CHAOS_HANG_MS, CHAOS_INVALID_CASES, chaosBaseFaults, chaosWorkerEnv } from '../../../tools/chaos/chaos-faults.js';
import { sampleIntents } from '../../../tools/samples/sample-intents.js';
import { parseIntent } from '../../../src/lifecycle/intent.js';

describe('chaos fault mix', () => {
  it('makes creates ambiguous in every way issue 7 names: 503 before commit, 502, reset and hang after commit', () => {
    const create = chaosBaseFaults().create ?? {};
    for (const fault of ['unavailableBeforeCommit', 'badGatewayAfterCommit', 'resetAfterCommit', 'hangAfterCommit'] as const) {
      expect(create[fault], fault).toBeGreaterThan(0);
    }
  });

  it('holds a hanging create past the workers HTTP timeout, so the worker times out after the order was committed', () => {
    const env = chaosWorkerEnv({ lockMs: 5_000, resolveTimeoutMs: 20_000 });
    expect(Number(env.HTTP_TIMEOUT_MS)).toBeLessThan(CHAOS_HANG_MS);
    expect(chaosBaseFaults().hangMs).toBe(CHAOS_HANG_MS);
  });
});

describe('chaos invalid intents', () => {
  it('are unknown items, quantities out of range and missing fields, each sent to the API and refused with a detail that proves the request wrong', () => {
    const catalog = Catalog.fromItems(sampleCatalogItems());
    const invalid = sampleIntents(200, { invalidCases: CHAOS_INVALID_CASES, invalidShare: 0.03 }).intents.filter((s) => s.kind === 'invalid');
    expect(new Set(invalid.map((s) => s.note))).toEqual(new Set(['unknown item', 'quantity above the item maximum', 'missing required field']));
    for (const { intent } of invalid) {
      // Well-formed job data: without a catalog the worker sends it.
      expect(parseIntent(intent).kind).toBe('ok');
      // The sandbox answers `400 validation_error` with `<field>: <message>` from these rules.
      const check = checkOrder(catalog.get(intent.item_id), { quantity: intent.quantity, fields: intent.fields });
      if (check.ok) throw new Error(`${intent.merchant_order_id} is accepted`);
      expect(isRequestRejection(`${check.field}: ${check.message}`), `${check.field}: ${check.message}`).toBe(true);
    }
  });
});
