import {
  AmbiguousError,
  AuthForbiddenError,
  DuplicateOrderError,
  InsufficientBalanceError,
  InvalidCredentialsError,
  NotAuthenticatedError,
  NotFoundError,
  RateLimitedError,
  TransientError,
  UnexpectedResponseError,
  ValidationError,
  type FulfillmentError,
  type FulfillmentErrorDetails,
} from '../errors/errors.js';

/**
 * Turns what the Voodoo Center API answered (or failed to answer) into the project's error family.
 * Pure functions, one per concern: the token exchange, business calls, transport failures.
 */

/** The API calls this project makes, as counted in metrics and named in errors and logs. */
export type ApiEndpoint = 'token' | 'balance' | 'create' | 'lookup';

/** The parts of an HTTP answer the mappers look at. */
export interface ApiAnswer {
  status: number;
  /** The parsed JSON body, or undefined when it was empty or not JSON. */
  body: unknown;
  /** The raw `Retry-After` header, if any. */
  retryAfter: string | undefined;
}

/** What is known about a request that got no complete HTTP answer. */
export interface TransportFailure {
  /** Error code of the failure (`ECONNREFUSED`, `ETIMEDOUT`, `ECONNRESET`...), if any. */
  code: string | undefined;
  /** For timeouts, the phase that timed out (`lookup`, `connect`, `secureConnect`, `request`...). */
  timeoutEvent: string | undefined;
  /** A TCP connection to the server existed (new or reused). */
  connected: boolean;
  /** The whole request (headers and body) was handed to the socket. */
  uploaded: boolean;
}

/** Codes of failures that happen before a connection exists, so the server cannot have seen the request. */
const NEVER_CONNECTED_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
]);
const CONNECTION_PHASE_TIMEOUTS: ReadonlySet<string> = new Set(['lookup', 'connect', 'secureConnect']);

const MAX_DETAIL_CHARS = 500;

/**
 * Milliseconds to wait from a `Retry-After` header: delta-seconds or an HTTP date. Undefined when
 * absent or unreadable.
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** The `{detail, code}` error envelope (or the token exchange's `{error}`), read defensively. */
export function readErrorEnvelope(body: unknown): { apiCode: string | undefined; detail: string | undefined } {
  if (typeof body !== 'object' || body === null) return { apiCode: undefined, detail: undefined };
  const record = body as Record<string, unknown>;
  const apiCode = typeof record.code === 'string' && record.code !== '' ? record.code : undefined;
  const rawDetail = record.detail ?? record.error;
  let detail: string | undefined;
  if (typeof rawDetail === 'string') detail = rawDetail;
  // Some frameworks answer a list of field problems; keep it readable rather than dropping it.
  else if (rawDetail !== undefined && rawDetail !== null) detail = JSON.stringify(rawDetail);
  if (detail !== undefined && detail.length > MAX_DETAIL_CHARS) detail = `${detail.slice(0, MAX_DETAIL_CHARS)}…`;
  return { apiCode, detail };
}

function describe(endpoint: ApiEndpoint, answer: ApiAnswer, apiCode: string | undefined, detail: string | undefined): string {
  const code = apiCode === undefined ? '' : ` ${apiCode}`;
  const text = detail === undefined ? '' : `: ${detail}`;
  return `${endpoint} answered ${answer.status}${code}${text}`;
}

function detailsOf(answer: ApiAnswer, nowMs: number): FulfillmentErrorDetails & { apiCode: string | undefined; detail: string | undefined } {
  const { apiCode, detail } = readErrorEnvelope(answer.body);
  const details = { status: answer.status, apiCode, detail };
  if (answer.status === 429) {
    const retryAfterMs = parseRetryAfterMs(answer.retryAfter, nowMs);
    return retryAfterMs === undefined ? details : { ...details, retryAfterMs };
  }
  return details;
}

/** The error for a non-2xx answer to `POST /auth/token/client`. */
export function tokenExchangeError(answer: ApiAnswer, nowMs: number): FulfillmentError {
  const details = detailsOf(answer, nowMs);
  const message = describe('token', answer, details.apiCode, details.detail);
  const { status } = answer;
  if (status === 401) return new InvalidCredentialsError(`API key rejected (${message})`, details);
  if (status === 403) return new AuthForbiddenError(`API-key auth is not enabled for the account (${message})`, details);
  if (status === 429) return new RateLimitedError(message, details);
  if (status >= 500) return new TransientError(message, details);
  return new UnexpectedResponseError(message, details);
}

/**
 * True when a 400 `validation_error` says the merchant_order_id is already taken. The code alone
 * cannot tell (every bad field is a validation_error), and a detail that merely names the field
 * could be about its length, so the detail must also speak of a conflict.
 */
export function isDuplicateMerchantOrderId(apiCode: string | undefined, detail: string | undefined): boolean {
  if (apiCode !== 'validation_error' || detail === undefined) return false;
  return /merchant_order_id/i.test(detail) && /already|exist|duplicate|unique|taken|in use/i.test(detail);
}

/**
 * The error for a non-2xx answer to a business call. A 401 maps to `NotAuthenticatedError`; the
 * client re-exchanges and retries once before it lets that error out.
 */
export function businessCallError(endpoint: Exclude<ApiEndpoint, 'token'>, answer: ApiAnswer, nowMs: number): FulfillmentError {
  const details = detailsOf(answer, nowMs);
  const { apiCode, detail } = details;
  const message = describe(endpoint, answer, apiCode, detail);
  const { status } = answer;
  if (status === 400) {
    if (apiCode === 'insufficient_balance') return new InsufficientBalanceError(message, details);
    if (endpoint === 'create' && isDuplicateMerchantOrderId(apiCode, detail)) return new DuplicateOrderError(message, details);
    return new ValidationError(message, details);
  }
  if (status === 401) return new NotAuthenticatedError(message, details);
  if (status === 404) return new NotFoundError(message, details);
  if (status === 409 && endpoint === 'create') return new DuplicateOrderError(message, details);
  if (status === 429) return new RateLimitedError(message, details);
  if (status >= 500) {
    // A create that failed on the server side may have been committed before the failure.
    return endpoint === 'create'
      ? new AmbiguousError(`${message} (the order may have been placed)`, details)
      : new TransientError(message, details);
  }
  return new UnexpectedResponseError(message, details);
}

/**
 * False only when the server cannot have received the whole request: no connection was ever made,
 * or the request was not fully written. Anything else (reset, timeout after sending) might have
 * reached the server.
 */
export function requestMayHaveArrived(failure: TransportFailure): boolean {
  if (failure.code !== undefined && NEVER_CONNECTED_CODES.has(failure.code)) return false;
  if (failure.timeoutEvent !== undefined && CONNECTION_PHASE_TIMEOUTS.has(failure.timeoutEvent)) return false;
  return failure.connected && failure.uploaded;
}

/** True when no connection to the server could be made at all (refused, no such host, connect timeout). */
function neverConnected(failure: TransportFailure): boolean {
  if (failure.code !== undefined && NEVER_CONNECTED_CODES.has(failure.code)) return true;
  return failure.timeoutEvent !== undefined && CONNECTION_PHASE_TIMEOUTS.has(failure.timeoutEvent);
}

/**
 * The error for a request that got no complete answer (refused, reset, timed out). `apiHost` (the
 * host of VOODOO_API_URL) goes into the message of a failure to connect at all, which is more often
 * a wrong URL or an outage than bad luck.
 */
export function transportError(endpoint: ApiEndpoint, failure: TransportFailure, cause: Error, apiHost?: string): FulfillmentError {
  const what = failure.timeoutEvent === undefined ? (failure.code ?? cause.name) : `timeout (${failure.timeoutEvent})`;
  const where = apiHost === undefined ? 'the API' : `the API at ${apiHost}`;
  const message = neverConnected(failure) ? `${endpoint} failed: ${what}: cannot reach ${where} (is VOODOO_API_URL right and the API up?)` : `${endpoint} failed: ${what}`;
  if (endpoint === 'create' && requestMayHaveArrived(failure)) {
    return new AmbiguousError(`${message} after the request was sent (the order may have been placed)`, { cause });
  }
  return new TransientError(message, { cause });
}

/** Request fields a `validation_error` detail may blame (the sandbox and the API say `<field>: <text>`). */
const REQUEST_FIELD = /\b(item_id|quantity|fields(\.[\w-]+)?)\b/i;
/**
 * Words of a rejection that depends on the moment, not on the request: stock and availability
 * (including "only 3 left", "2 remaining"). When in doubt the rejection counts as the moment's, which
 * waits for the webhook instead of reporting `rejected` for an order that may exist.
 */
const MOMENT_WORDS = /stock|availab|sold[ _-]?out|disabled|inactive|\bleft\b|remaining/i;

/**
 * True when a `validation_error` detail shows a rejection of the request itself — it names a request
 * field other than merchant_order_id and says nothing of stock or availability — which an identical
 * earlier request would have met too (API contract §9). False when it is, or may be, about the
 * account's state at that moment (duplicate id, out of stock, unavailable) or cannot be read.
 */
export function isRequestRejection(detail: string | undefined): boolean {
  if (detail === undefined) return false;
  if (/merchant_order_id/i.test(detail) || MOMENT_WORDS.test(detail)) return false;
  return REQUEST_FIELD.test(detail);
}
