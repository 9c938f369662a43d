/**
 * One error family for the whole project. Every failure carries a stable `code` (branch on it,
 * never on the message) and a `retryable` flag. Retry decisions are made from these two fields in
 * one place per failure site (the client for HTTP, the handlers for jobs).
 */

/** Every stable error code the project raises. */
export type ErrorCode =
  /** Configuration is missing or invalid: fatal for the process. */
  | 'config_invalid'
  /** The API rejected the request's content (400 validation_error, not a duplicate). */
  | 'validation_error'
  /** An order with this merchant_order_id already exists (400 naming merchant_order_id, or 409). */
  | 'duplicate_merchant_order_id'
  /** The balance cannot cover the order. */
  | 'insufficient_balance'
  /** The API key is unknown or revoked (token exchange answered 401). Fatal until reconfigured. */
  | 'invalid_credentials'
  /** API-key auth is not enabled for the account (token exchange answered 403). Fatal. */
  | 'auth_forbidden'
  /** A business call answered 401 not_authenticated: exchange the key again and retry. */
  | 'not_authenticated'
  /** No such order, or not ours. */
  | 'not_found'
  /** 429: not processed, try again after `retryAfterMs`. */
  | 'rate_limited'
  /** 5xx, reset or timeout on a request that cannot have changed anything (reads, token exchange, a 503 before commit is still unknown to us). */
  | 'transient'
  /** A create request was sent and may have been committed (5xx, reset, timeout after sending). */
  | 'ambiguous'
  /** The API answered something this client cannot understand. */
  | 'unexpected_response'
  /** An order intent failed validation before anything was sent. */
  | 'invalid_intent'
  /** The catalog snapshot could not be read. */
  | 'catalog_invalid'
  /** The Redis a process was given cannot keep this system's promises (eviction policy, version). Fatal. */
  | 'redis_unsuitable';

/** Extra facts an error may carry. All optional. */
export interface FulfillmentErrorDetails {
  /** HTTP status the API answered, when there was an answer. */
  status?: number;
  /** The API's own `code` field, verbatim. */
  apiCode?: string;
  /** The API's `detail` text (human text; never branch on it). */
  detail?: string;
  /** How long to wait before retrying, in milliseconds (from Retry-After). */
  retryAfterMs?: number;
  /** The underlying error. Only its name, message and code are ever logged. */
  cause?: unknown;
}

/** Base class of every error this project raises. */
export class FulfillmentError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly apiCode: string | undefined;
  readonly detail: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, retryable: boolean, message: string, details: FulfillmentErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = retryable;
    this.status = details.status;
    this.apiCode = details.apiCode;
    this.detail = details.detail;
    this.retryAfterMs = details.retryAfterMs;
  }
}

export class ConfigError extends FulfillmentError {
  /** The environment variable (or option) that is wrong. */
  readonly variable: string;
  constructor(variable: string, message: string) {
    super('config_invalid', false, `${variable}: ${message}`);
    this.variable = variable;
  }
}

export class ValidationError extends FulfillmentError {
  constructor(message: string, details: FulfillmentErrorDetails = {}) {
    super('validation_error', false, message, details);
  }
}

export class DuplicateOrderError extends FulfillmentError {
  constructor(message: string, details: FulfillmentErrorDetails = {}) {
    super('duplicate_merchant_order_id', false, message, details);
  }
}

export class InsufficientBalanceError extends FulfillmentError {
  constructor(message: string, details: FulfillmentErrorDetails = {}) {
    super('insufficient_balance', false, message, details);
  }
}

export class InvalidCredentialsError extends FulfillmentError {
  constructor(message: string, details: FulfillmentErrorDetails = {}) {
    super('invalid_credentials', false, message, details);
  }
}

export class AuthForbiddenError extends FulfillmentError {
  constructor(message: string, details: FulfillmentErrorDetails = {}) {
    super('auth_forbidden', false, message, details);
  }
}

export class NotAuthenticatedError extends FulfillmentError {
  constructor(message: string, details: FulfillmentErrorDetails = {}) {
    super('not_authenticated', true, message, details);
  }
}

export class NotFoundError extends FulfillmentError {
  constructor(message: string, details: FulfillmentErrorDetails = {}) {
    super('not_found', false, message, details);
  }
}

export class RateLimitedError extends FulfillmentError {
  constructor(message: string, details: FulfillmentErrorDetails = {}) {
    super('rate_limited', true, message, details);
  }
}

export class TransientError extends FulfillmentError {
  constructor(message: string, details: FulfillmentErrorDetails = {}) {
    super('transient', true, message, details);
  }
}

export class AmbiguousError extends FulfillmentError {
  constructor(message: string, details: FulfillmentErrorDetails = {}) {
    super('ambiguous', true, message, details);
  }
}

export class UnexpectedResponseError extends FulfillmentError {
  constructor(message: string, details: FulfillmentErrorDetails = {}) {
    super('unexpected_response', true, message, details);
  }
}

export class CatalogError extends FulfillmentError {
  constructor(message: string, details: FulfillmentErrorDetails = {}) {
    super('catalog_invalid', false, message, details);
  }
}

/** True when `err` belongs to this family and carries `code`. */
export function hasCode(err: unknown, code: ErrorCode): err is FulfillmentError {
  return err instanceof FulfillmentError && err.code === code;
}

/** The message of anything thrown (an Error's message, else its string form), for one-line reports. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
