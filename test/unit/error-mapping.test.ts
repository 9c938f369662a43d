import { describe, expect, it } from 'vitest';
import {
  businessCallError,
  isDuplicateMerchantOrderId,
  isRequestRejection,
  parseRetryAfterMs,
  readErrorEnvelope,
  requestMayHaveArrived,
  tokenExchangeError,
  transportError,
  type ApiAnswer,
  type TransportFailure,
} from '../../src/api/error-mapping.js';
import { FulfillmentError, type ErrorCode } from '../../src/errors/errors.js';

const NOW = 1_700_000_000_000;

function answer(status: number, body?: unknown, retryAfter?: string): ApiAnswer {
  return { status, body, retryAfter };
}

describe('parseRetryAfterMs', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfterMs('3', NOW)).toBe(3_000);
    expect(parseRetryAfterMs(' 0.5 ', NOW)).toBe(500);
  });

  it('reads an HTTP date relative to now, never negative', () => {
    expect(parseRetryAfterMs(new Date(NOW + 4_000).toUTCString(), NOW)).toBe(4_000);
    expect(parseRetryAfterMs(new Date(NOW - 60_000).toUTCString(), NOW)).toBe(0);
  });

  it('gives undefined when absent or unreadable', () => {
    expect(parseRetryAfterMs(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfterMs('', NOW)).toBeUndefined();
    expect(parseRetryAfterMs('soon', NOW)).toBeUndefined();
  });
});

describe('readErrorEnvelope', () => {
  it('reads the standard {detail, code} envelope', () => {
    expect(readErrorEnvelope({ detail: 'Bad item', code: 'validation_error' })).toEqual({ apiCode: 'validation_error', detail: 'Bad item' });
  });

  it("reads the token exchange's {error} body as the detail", () => {
    expect(readErrorEnvelope({ error: 'Invalid credentials' })).toEqual({ apiCode: undefined, detail: 'Invalid credentials' });
  });

  it('keeps a structured detail readable and bounds its length', () => {
    expect(readErrorEnvelope({ detail: [{ loc: ['quantity'] }] }).detail).toBe('[{"loc":["quantity"]}]');
    expect(readErrorEnvelope({ detail: 'x'.repeat(2_000) }).detail?.length).toBeLessThan(600);
  });

  it('tolerates bodies that are not objects', () => {
    expect(readErrorEnvelope(undefined)).toEqual({ apiCode: undefined, detail: undefined });
    expect(readErrorEnvelope('oops')).toEqual({ apiCode: undefined, detail: undefined });
  });
});

function expectError(err: FulfillmentError, code: ErrorCode, retryable: boolean): void {
  expect(err).toBeInstanceOf(FulfillmentError);
  expect(err.code).toBe(code);
  expect(err.retryable).toBe(retryable);
}

describe('tokenExchangeError', () => {
  it.each([
    [401, { error: 'Invalid credentials' }, 'invalid_credentials', false],
    [403, { detail: 'API key auth disabled' }, 'auth_forbidden', false],
    [429, undefined, 'rate_limited', true],
    [500, undefined, 'transient', true],
    [503, { detail: 'down' }, 'transient', true],
    [400, { detail: 'weird' }, 'unexpected_response', true],
  ] as const)('maps %i to %s', (status, body, code, retryable) => {
    const err = tokenExchangeError(answer(status, body), NOW);
    expectError(err, code, retryable);
    expect(err.status).toBe(status);
  });

  it('carries Retry-After on 429', () => {
    expect(tokenExchangeError(answer(429, undefined, '7'), NOW).retryAfterMs).toBe(7_000);
  });
});

describe('isDuplicateMerchantOrderId', () => {
  it('recognises a validation_error that says the merchant_order_id exists', () => {
    expect(isDuplicateMerchantOrderId('validation_error', 'merchant_order_id already exists')).toBe(true);
    expect(isDuplicateMerchantOrderId('validation_error', 'Duplicate merchant_order_id: m-1')).toBe(true);
  });

  it('does not take other merchant_order_id problems for duplicates', () => {
    expect(isDuplicateMerchantOrderId('validation_error', 'merchant_order_id: at most 100 characters')).toBe(false);
    expect(isDuplicateMerchantOrderId('validation_error', 'item already out of stock')).toBe(false);
    expect(isDuplicateMerchantOrderId('insufficient_balance', 'merchant_order_id already exists')).toBe(false);
    expect(isDuplicateMerchantOrderId('validation_error', undefined)).toBe(false);
  });
});

describe('businessCallError', () => {
  it('maps a duplicate merchant_order_id on create to duplicate_merchant_order_id, keeping code and detail', () => {
    const err = businessCallError('create', answer(400, { code: 'validation_error', detail: 'merchant_order_id already exists' }), NOW);
    expectError(err, 'duplicate_merchant_order_id', false);
    expect(err.apiCode).toBe('validation_error');
    expect(err.detail).toBe('merchant_order_id already exists');
    expect(err.status).toBe(400);
  });

  it('maps 409 already_exists on create to duplicate_merchant_order_id', () => {
    expectError(businessCallError('create', answer(409, { code: 'already_exists', detail: 'conflict' }), NOW), 'duplicate_merchant_order_id', false);
  });

  it('maps other validation errors to validation_error', () => {
    expectError(businessCallError('create', answer(400, { code: 'validation_error', detail: 'quantity out of range' }), NOW), 'validation_error', false);
  });

  it('maps insufficient_balance', () => {
    expectError(businessCallError('create', answer(400, { code: 'insufficient_balance', detail: 'no money' }), NOW), 'insufficient_balance', false);
  });

  it('maps 401 to not_authenticated and 404 to not_found', () => {
    expectError(businessCallError('balance', answer(401, { code: 'not_authenticated' }), NOW), 'not_authenticated', true);
    expectError(businessCallError('lookup', answer(404, { code: 'not_found' }), NOW), 'not_found', false);
  });

  it('maps 429 to rate_limited with the wait, or without one when there is no header', () => {
    const withHeader = businessCallError('create', answer(429, undefined, '2'), NOW);
    expectError(withHeader, 'rate_limited', true);
    expect(withHeader.retryAfterMs).toBe(2_000);
    expect(businessCallError('lookup', answer(429), NOW).retryAfterMs).toBeUndefined();
  });

  it('maps 5xx on reads to transient but on create to ambiguous', () => {
    expectError(businessCallError('lookup', answer(500), NOW), 'transient', true);
    expectError(businessCallError('balance', answer(502), NOW), 'transient', true);
    expectError(businessCallError('create', answer(503), NOW), 'ambiguous', true);
    expectError(businessCallError('create', answer(502), NOW), 'ambiguous', true);
  });

  it('maps an unknown status to unexpected_response', () => {
    expectError(businessCallError('lookup', answer(418), NOW), 'unexpected_response', true);
    expectError(businessCallError('lookup', answer(409, { code: 'already_exists' }), NOW), 'unexpected_response', true);
  });
});

describe('requestMayHaveArrived', () => {
  const sent: TransportFailure = { code: 'ECONNRESET', timeoutEvent: undefined, connected: true, uploaded: true };

  it('is true for a reset or a request timeout after the request was written', () => {
    expect(requestMayHaveArrived(sent)).toBe(true);
    expect(requestMayHaveArrived({ ...sent, code: 'ETIMEDOUT', timeoutEvent: 'request' })).toBe(true);
  });

  it('is false when no connection was made', () => {
    expect(requestMayHaveArrived({ ...sent, code: 'ECONNREFUSED' })).toBe(false);
    expect(requestMayHaveArrived({ ...sent, code: 'ENOTFOUND' })).toBe(false);
    expect(requestMayHaveArrived({ ...sent, code: 'ETIMEDOUT', timeoutEvent: 'connect' })).toBe(false);
    expect(requestMayHaveArrived({ ...sent, code: 'ETIMEDOUT', timeoutEvent: 'lookup' })).toBe(false);
    expect(requestMayHaveArrived({ ...sent, code: 'ETIMEDOUT', timeoutEvent: 'request', connected: false, uploaded: false })).toBe(false);
  });

  it('is false when the request was not fully written', () => {
    expect(requestMayHaveArrived({ ...sent, uploaded: false })).toBe(false);
  });
});

describe('transportError', () => {
  const cause = new Error('boom');

  it('is ambiguous for a create that may have arrived, transient for anything else', () => {
    const failure: TransportFailure = { code: 'ECONNRESET', timeoutEvent: undefined, connected: true, uploaded: true };
    expectError(transportError('create', failure, cause), 'ambiguous', true);
    expectError(transportError('lookup', failure, cause), 'transient', true);
    expectError(transportError('token', failure, cause), 'transient', true);
    expectError(transportError('create', { ...failure, code: 'ECONNREFUSED', connected: false, uploaded: false }, cause), 'transient', true);
  });

  it('keeps the given cause', () => {
    const failure: TransportFailure = { code: 'ECONNREFUSED', timeoutEvent: undefined, connected: false, uploaded: false };
    expect(transportError('balance', failure, cause).cause).toBe(cause);
  });
});

describe('isRequestRejection', () => {
  it('is true when the detail blames a request field: an identical earlier request met it too', () => {
    expect(isRequestRejection('item_id: no such item')).toBe(true);
    expect(isRequestRejection('item_id: This field is required.')).toBe(true);
    expect(isRequestRejection('item_id: A valid integer is required.')).toBe(true);
    expect(isRequestRejection('quantity: must be between 1 and 10')).toBe(true);
    expect(isRequestRejection('quantity: must be omitted for service items')).toBe(true);
    expect(isRequestRejection('fields: is required for topup items')).toBe(true);
    expect(isRequestRejection('fields.server: is required')).toBe(true);
    expect(isRequestRejection('fields.player_id: must be a non-empty string')).toBe(true);
    expect(isRequestRejection('fields.server-region: 99 is not a valid choice')).toBe(true);
  });

  it('reads the field whatever its case', () => {
    expect(isRequestRejection('Quantity must be between 1 and 10')).toBe(true);
  });

  it('is false for stock and availability: they depend on the moment, and a landed attempt may have caused them', () => {
    expect(isRequestRejection('item_id: item 7300 is out of stock')).toBe(false);
    expect(isRequestRejection('item_id: only 2 of item 7300 in stock')).toBe(false);
    expect(isRequestRejection('item_id: item is not available')).toBe(false);
    expect(isRequestRejection('item_id: this item is unavailable in your region')).toBe(false);
    expect(isRequestRejection('item_id: sold out')).toBe(false);
    expect(isRequestRejection('item_id: item 12 is disabled')).toBe(false);
    expect(isRequestRejection('quantity: exceeds the available stock')).toBe(false);
    expect(isRequestRejection('quantity: only 3 left')).toBe(false);
    expect(isRequestRejection('quantity: 2 remaining')).toBe(false);
  });

  it('is false for anything about the merchant_order_id, a duplicate above all', () => {
    expect(isRequestRejection('merchant_order_id: an order with this merchant_order_id already exists.')).toBe(false);
    // Even alongside another field: the duplicate may be our own landed attempt.
    expect(isRequestRejection('merchant_order_id: already exists; quantity: must be between 1 and 10')).toBe(false);
    expect(isRequestRejection('merchant_order_id: Ensure this field has no more than 100 characters.')).toBe(false);
  });

  it('is false when there is no detail or it names no request field', () => {
    expect(isRequestRejection(undefined)).toBe(false);
    expect(isRequestRejection('')).toBe(false);
    expect(isRequestRejection('Expected a JSON object.')).toBe(false);
    expect(isRequestRejection('Invalid request.')).toBe(false);
    expect(isRequestRejection('Insufficient balance.')).toBe(false);
  });

  it('does not take a word that merely contains a field name for the field', () => {
    expect(isRequestRejection('item_identifier: unknown')).toBe(false);
    expect(isRequestRejection('subfields: not allowed')).toBe(false);
    expect(isRequestRejection('quantityx: bad')).toBe(false);
  });

  it('reads a JSON list detail (as readErrorEnvelope keeps it)', () => {
    const list = (body: unknown): string | undefined => readErrorEnvelope({ code: 'validation_error', detail: body }).detail;
    expect(isRequestRejection(list([{ loc: ['body', 'quantity'], msg: 'ensure this value is less than or equal to 10' }]))).toBe(true);
    expect(isRequestRejection(list([{ loc: ['body', 'item_id'], msg: 'item is out of stock' }]))).toBe(false);
    expect(isRequestRejection(list([{ loc: ['body', 'merchant_order_id'], msg: 'already exists' }]))).toBe(false);
    expect(isRequestRejection(list([{ loc: ['body'], msg: 'invalid' }]))).toBe(false);
  });

  it('agrees with the error the client raises: only a plain validation_error can be a request rejection', () => {
    const create400 = (detail: string): FulfillmentError =>
      businessCallError('create', answer(400, { code: 'validation_error', detail }), NOW);
    const duplicate = create400('merchant_order_id: an order with this merchant_order_id already exists.');
    expect(duplicate.code).toBe('duplicate_merchant_order_id');
    expect(isRequestRejection(duplicate.detail)).toBe(false);
    const quantity = create400('quantity: must be between 1 and 10');
    expect(quantity.code).toBe('validation_error');
    expect(isRequestRejection(quantity.detail)).toBe(true);
  });
});

describe('a request that got no answer', () => {
  const never = { timeoutEvent: undefined, connected: false, uploaded: false };

  it('names VOODOO_API_URL and its host when no connection could be made', () => {
    for (const failure of [
      { ...never, code: 'ECONNREFUSED' },
      { ...never, code: 'ENOTFOUND' },
      { ...never, code: 'ETIMEDOUT', timeoutEvent: 'connect' },
    ]) {
      const err = transportError('token', failure, new Error('x'), 'api.example.test:8443');
      expect(err.code).toBe('transient');
      expect(err.message).toMatch(/^token failed: .+: cannot reach the API at api\.example\.test:8443 \(is VOODOO_API_URL right and the API up\?\)$/);
    }
  });

  it('does not blame the URL for a connection that was made and then lost', () => {
    const reset = transportError('lookup', { code: 'ECONNRESET', timeoutEvent: undefined, connected: true, uploaded: true }, new Error('x'), 'api.example.test');
    expect(reset.message).toBe('lookup failed: ECONNRESET');
  });
});
