import { describe, expect, it } from 'vitest';
import { businessCallError, transportError, type ApiAnswer } from '../../src/api/error-mapping.js';
import {
  AmbiguousError,
  AuthForbiddenError,
  CatalogError,
  ConfigError,
  DuplicateOrderError,
  type FulfillmentError,
  InsufficientBalanceError,
  InvalidCredentialsError,
  NotAuthenticatedError,
  NotFoundError,
  RateLimitedError,
  TransientError,
  UnexpectedResponseError,
  ValidationError,
  type ErrorCode,
} from '../../src/errors/errors.js';
import { classifyFailure } from '../../src/lifecycle/failure-classification.js';
import { InvalidIntentError } from '../../src/queue/enqueue-order.js';
import type { ApiCall, OrderEvent } from '../../src/lifecycle/order-state.js';
import { RedisUnsuitableError } from '../../src/redis/startup-checks.js';

const AT = Date.UTC(2026, 10, 25, 12, 0, 0);
const CALLS: readonly ApiCall[] = ['balance', 'create', 'lookup'];

/**
 * One error per ErrorCode, built as the project raises it (its class, hence its `retryable` flag).
 * Record<ErrorCode, …>: tsc refuses a code without an entry.
 */
const errors: Record<ErrorCode, () => FulfillmentError> = {
  config_invalid: () => new ConfigError('API_KEY', 'is required'),
  validation_error: () => new ValidationError('create answered 400 validation_error: quantity: must be between 1 and 10', { detail: 'quantity: must be between 1 and 10' }),
  duplicate_merchant_order_id: () =>
    new DuplicateOrderError('create answered 400 validation_error: merchant_order_id: an order with this merchant_order_id already exists.', {
      detail: 'merchant_order_id: an order with this merchant_order_id already exists.',
    }),
  insufficient_balance: () => new InsufficientBalanceError('create answered 400 insufficient_balance: Insufficient balance.', { detail: 'Insufficient balance.' }),
  invalid_credentials: () => new InvalidCredentialsError('API key rejected (token answered 401)'),
  auth_forbidden: () => new AuthForbiddenError('API-key auth is not enabled for the account (token answered 403)'),
  not_authenticated: () => new NotAuthenticatedError('answered 401 not_authenticated'),
  not_found: () => new NotFoundError('answered 404 not_found: Not found.', { detail: 'Not found.' }),
  rate_limited: () => new RateLimitedError('answered 429', { retryAfterMs: 2_000 }),
  transient: () => new TransientError('answered 503 service_unavailable'),
  ambiguous: () => new AmbiguousError('create answered 503 service_unavailable (the order may have been placed)'),
  unexpected_response: () => new UnexpectedResponseError('answered 200 with a body that is not an order'),
  invalid_intent: () => new InvalidIntentError('item_id: expected an integer item id'),
  catalog_invalid: () => new CatalogError('catalog snapshot unreadable'),
  redis_unsuitable: () => new RedisUnsuitableError('REDIS_URL: maxmemory-policy is allkeys-lru'),
};

/** What each code becomes, per call. */
function expected(code: ErrorCode, call: ApiCall, err: FulfillmentError): OrderEvent {
  const { message } = err;
  if (code === 'rate_limited') return { type: 'rate_limited', atMs: AT, call, retryAfterMs: 2_000 };
  if (code === 'invalid_credentials' || code === 'auth_forbidden') return { type: 'key_refused', atMs: AT, call, code, message };
  if (call === 'lookup' && code === 'not_found') return { type: 'order_not_found', atMs: AT };
  if (call !== 'create') return { type: 'call_failed', atMs: AT, call, code, message };
  switch (code) {
    case 'validation_error':
      return { type: 'create_rejected', atMs: AT, code: 'validation_error', message: 'quantity: must be between 1 and 10', provable: true };
    case 'duplicate_merchant_order_id':
      return {
        type: 'create_rejected',
        atMs: AT,
        code,
        message: 'merchant_order_id: an order with this merchant_order_id already exists.',
        provable: false,
      };
    case 'insufficient_balance':
      return { type: 'create_rejected', atMs: AT, code, message: 'Insufficient balance.', provable: false };
    case 'ambiguous':
    case 'unexpected_response':
      return { type: 'create_ambiguous', atMs: AT, message };
    case 'not_authenticated':
    case 'transient':
      return { type: 'call_failed', atMs: AT, call, code, message };
    default:
      // not_found on a create, and codes no API answer carries: a final answer that proves nothing.
      return { type: 'create_rejected', atMs: AT, code: 'unclassified', message, provable: false };
  }
}

describe('classifyFailure', () => {
  describe('every error code on every call', () => {
    for (const [code, make] of Object.entries(errors) as [ErrorCode, () => FulfillmentError][]) {
      for (const call of CALLS) {
        it(`${code} on ${call} → ${expected(code, call, make()).type}`, () => {
          const err = make();
          expect(err.code).toBe(code);
          expect(classifyFailure(call, err, AT)).toEqual(expected(code, call, err));
        });
      }
    }
  });

  describe('rate limits', () => {
    it('carries Retry-After as retryAfterMs', () => {
      for (const call of CALLS) {
        expect(classifyFailure(call, new RateLimitedError('429', { retryAfterMs: 7_500 }), AT)).toEqual({
          type: 'rate_limited',
          atMs: AT,
          call,
          retryAfterMs: 7_500,
        });
      }
    });

    it('says null when the 429 had no usable Retry-After', () => {
      expect(classifyFailure('create', new RateLimitedError('429'), AT)).toMatchObject({ type: 'rate_limited', retryAfterMs: null });
    });

    it('reads the header of a real 429 answer', () => {
      const answer: ApiAnswer = { status: 429, body: { code: 'throttled', detail: 'slow down' }, retryAfter: '3' };
      expect(classifyFailure('lookup', businessCallError('lookup', answer, AT), AT)).toEqual({
        type: 'rate_limited',
        atMs: AT,
        call: 'lookup',
        retryAfterMs: 3_000,
      });
    });
  });

  describe('a validation_error on the create is provable only when its detail blames the request', () => {
    const create400 = (detail: string | undefined): FulfillmentError =>
      businessCallError('create', { status: 400, body: { code: 'validation_error', detail }, retryAfter: undefined }, AT);

    const cases: { detail: string; provable: boolean }[] = [
      { detail: 'item_id: no such item', provable: true },
      { detail: 'quantity: must be between 1 and 10', provable: true },
      { detail: 'fields.server: is required', provable: true },
      { detail: 'item_id: item 7300 is out of stock', provable: false },
      { detail: 'item_id: only 2 of item 7300 in stock', provable: false },
      { detail: 'Something is wrong with the request.', provable: false },
    ];
    for (const { detail, provable } of cases) {
      it(`"${detail}" → provable ${provable}, with the detail as the message`, () => {
        expect(classifyFailure('create', create400(detail), AT)).toEqual({
          type: 'create_rejected',
          atMs: AT,
          code: 'validation_error',
          message: detail,
          provable,
        });
      });
    }

    it('a validation_error without a detail is not provable and keeps the error message', () => {
      const err = create400(undefined);
      expect(classifyFailure('create', err, AT)).toEqual({ type: 'create_rejected', atMs: AT, code: 'validation_error', message: err.message, provable: false });
    });

    it('a duplicate merchant_order_id is a duplicate, never provable', () => {
      expect(classifyFailure('create', create400('merchant_order_id: an order with this merchant_order_id already exists.'), AT)).toMatchObject({
        type: 'create_rejected',
        code: 'duplicate_merchant_order_id',
        provable: false,
      });
    });
  });

  describe('answers that may hide a created order', () => {
    const sent = { code: 'ECONNRESET', timeoutEvent: undefined, connected: true, uploaded: true };
    const cases: { what: string; err: FulfillmentError }[] = [
      { what: 'a 503', err: businessCallError('create', { status: 503, body: undefined, retryAfter: undefined }, AT) },
      { what: 'a 502 from a gateway', err: businessCallError('create', { status: 502, body: '<html>502</html>', retryAfter: undefined }, AT) },
      { what: 'a reset after sending', err: transportError('create', sent, new Error('socket hang up')) },
      { what: 'a timeout after sending', err: transportError('create', { ...sent, code: 'ETIMEDOUT', timeoutEvent: 'request' }, new Error('timeout')) },
      { what: 'an unreadable 2xx', err: new UnexpectedResponseError('create answered 201 with a body that is not an order') },
    ];
    for (const { what, err } of cases) {
      it(`${what} on the create is create_ambiguous`, () => {
        expect(classifyFailure('create', err, AT)).toEqual({ type: 'create_ambiguous', atMs: AT, message: err.message });
      });
    }

    it('a create refused before a connection existed was not processed: call_failed', () => {
      const refused = transportError('create', { code: 'ECONNREFUSED', timeoutEvent: undefined, connected: false, uploaded: false }, new Error('refused'));
      expect(classifyFailure('create', refused, AT)).toMatchObject({ type: 'call_failed', call: 'create', code: 'transient' });
    });

    it('the same 5xx on a read is only a failed call', () => {
      const err = businessCallError('lookup', { status: 503, body: undefined, retryAfter: undefined }, AT);
      expect(classifyFailure('lookup', err, AT)).toEqual({ type: 'call_failed', atMs: AT, call: 'lookup', code: 'transient', message: err.message });
    });
  });

  describe('anything outside the error family', () => {
    it('is thrown back unchanged, whatever the call', () => {
      const bug = new TypeError('cannot read properties of undefined');
      for (const call of CALLS) {
        expect(() => classifyFailure(call, bug, AT)).toThrow(bug);
      }
    });

    it('is thrown back even when it is not an Error', () => {
      let thrown: unknown;
      try {
        classifyFailure('create', 'redis went away', AT);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBe('redis went away');
    });

    it('is thrown back even when it looks like a FulfillmentError', () => {
      const lookalike = Object.assign(new Error('503'), { code: 'ambiguous', retryable: true });
      expect(() => classifyFailure('create', lookalike, AT)).toThrow(lookalike);
    });
  });

  it('stamps the event with the time it is given', () => {
    expect(classifyFailure('balance', new TransientError('down'), AT + 1234).atMs).toBe(AT + 1234);
  });
});
