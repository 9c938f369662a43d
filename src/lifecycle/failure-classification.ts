import { isRequestRejection } from '../api/error-mapping.js';
import { FulfillmentError } from '../errors/errors.js';
import type { ApiCall, OrderEvent } from './order-state.js';

/**
 * The one place where an API failure becomes a lifecycle event: which call failed, its error's
 * stable `code` and `retryable` flag (and Retry-After) decide what the machine is told. Pure.
 * Anything that is not of the project's error family is a bug or an outage of our own (Redis), not
 * an answer of the API: it is thrown back for the job's safety net.
 */
export function classifyFailure(call: ApiCall, err: unknown, atMs: number): OrderEvent {
  if (!(err instanceof FulfillmentError)) throw err;
  const { message } = err;
  switch (err.code) {
    case 'rate_limited':
      return { type: 'rate_limited', atMs, call, retryAfterMs: err.retryAfterMs ?? null };
    case 'invalid_credentials':
    case 'auth_forbidden':
      return { type: 'key_refused', atMs, call, code: err.code, message };
    default:
  }
  if (call === 'lookup' && err.code === 'not_found') return { type: 'order_not_found', atMs };
  if (call !== 'create') return { type: 'call_failed', atMs, call, code: err.code, message };

  switch (err.code) {
    case 'duplicate_merchant_order_id':
    case 'insufficient_balance':
      return { type: 'create_rejected', atMs, code: err.code, message: err.detail ?? message, provable: false };
    case 'validation_error':
      return { type: 'create_rejected', atMs, code: 'validation_error', message: err.detail ?? message, provable: isRequestRejection(err.detail) };
    // A 2xx that cannot be read means an order was created that we cannot see: as unknown as a timeout.
    case 'ambiguous':
    case 'unexpected_response':
      return { type: 'create_ambiguous', atMs, message };
    default:
      // Retryable failures were not processed (the client raises `ambiguous` for anything that may
      // have been); a final answer we do not know is a rejection that proves nothing.
      if (err.retryable) return { type: 'call_failed', atMs, call, code: err.code, message };
      return { type: 'create_rejected', atMs, code: 'unclassified', message, provable: false };
  }
}
