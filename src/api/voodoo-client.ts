import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { UnexpectedResponseError, ValidationError, type ErrorCode } from '../errors/errors.js';
import type { Logger } from '../logging/logger.js';
import {
  businessCallError,
  tokenExchangeError,
  transportError,
  type ApiAnswer,
  type ApiEndpoint,
} from './error-mapping.js';
import { HttpTransportError, sendHttp, type HttpAgents } from './http-transport.js';
import { accessTokenExpiresAt } from './jwt-expiry.js';
import { MAX_MERCHANT_ORDER_ID_LENGTH } from './api-limits.js';
import { orderFromRest, type Order } from './order.js';
import type { AccessToken, TokenExchange, TokenProvider } from './token-provider.js';
import { LOG_EVENT } from '../logging/log-events.js';

export type { ApiEndpoint } from './error-mapping.js';

/** The API documents a 2 h token lifetime and no `expires_in`. */
const DEFAULT_TOKEN_TTL_MS = 2 * 60 * 60 * 1000;

/** Sent with every request. */
const BASE_HEADERS: Readonly<Record<string, string>> = { accept: 'application/json', 'user-agent': 'voodoo-fulfillment' };

/** Options of {@link createVoodooClient}. */
export interface VoodooClientOptions {
  /** Base URL before `/api/v1`, e.g. `https://api.voodoo.center` or a sandbox's `http://127.0.0.1:43117`. */
  baseUrl: string;
  /** The long-lived `ak_` key; sent only to the token exchange. */
  apiKey: string;
  /** Hard limit on one HTTP request, connect to last byte, in ms. */
  timeoutMs: number;
  /**
   * Builds the token provider from this client's exchange, e.g.
   * `(exchange) => new RedisTokenProvider({ redis, keyPrefix, exchange, refreshMarginMs, logger })`.
   */
  tokens: (exchange: TokenExchange) => TokenProvider;
  logger: Logger;
  /** Called once per HTTP request when it finished (retries included), for metrics. */
  onCall?: (call: ApiCallReport) => void;
  /** Lifetime assumed for a token without a JWT `exp` claim, in ms. Default 2 h. */
  tokenTtlMs?: number;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** One HTTP request to the API, as {@link VoodooClientOptions.onCall} is told of it. */
export interface ApiCallReport {
  endpoint: ApiEndpoint;
  /** From sending the request to its answer (or failure), in seconds. */
  seconds: number;
  /** The error family's code of a failed or non-2xx request (what the caller is thrown, or would be); null for a 2xx answer. */
  errorCode: ErrorCode | null;
}

/** What `createOrder` sends. */
export interface CreateOrderRequest {
  /** Catalog item id. */
  itemId: number;
  /** Key items: integer count (API default 1). Top-ups: decimal amount, required. Services: omit. */
  quantity?: number;
  /** Unique per account: the idempotency key and webhook correlation id. 1..100 characters. */
  merchantOrderId: string;
  /** Item inputs by field name: text fields as strings, choice fields as the numeric choice id. */
  fields?: Record<string, string | number>;
}

/** A typed client of the Voodoo Center API. Every failure is a `FulfillmentError`. */
export interface VoodooClient {
  /** Exchange the API key for an access token (`POST /auth/token/client`). Usually called by the token provider. */
  exchangeToken(): Promise<AccessToken>;
  /** The spendable balance, in major currency units. */
  getBalance(): Promise<number>;
  /**
   * Place an order. Never retried here: a 5xx, reset or timeout after sending rejects with
   * `AmbiguousError` (the order may exist); a duplicate `merchantOrderId` with `DuplicateOrderError`.
   */
  createOrder(request: CreateOrderRequest): Promise<Order>;
  /** Look up one order by its id. */
  getOrder(id: string): Promise<Order>;
  /** Destroy this client's keep-alive sockets. */
  close(): void;
}

interface SendOptions {
  json?: Record<string, unknown>;
  token?: string;
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** The failure as the error's `cause`: its message, name and code only (never the request's headers). */
function causeOf(err: HttpTransportError): Error {
  const copy = new Error(err.message);
  copy.name = err.name;
  copy.stack = err.stack;
  return Object.assign(copy, { code: err.code });
}

class HttpVoodooClient implements VoodooClient {
  private readonly apiKey: string;
  private readonly logger: Logger;
  private readonly onCall: ((call: ApiCallReport) => void) | undefined;
  private readonly tokenTtlMs: number;
  private readonly now: () => number;
  // Owned, not global, so close() ends every socket this client opened.
  private readonly agents: HttpAgents;
  /** `<VOODOO_API_URL>/api/v1/`, which every path is resolved against. */
  private readonly apiRoot: string;
  private readonly timeoutMs: number;
  private readonly tokens: TokenProvider;
  /** Host (and port) of VOODOO_API_URL, named when it cannot be reached. */
  private readonly apiHost: string;

  constructor(options: VoodooClientOptions) {
    this.apiKey = options.apiKey;
    this.logger = options.logger;
    this.onCall = options.onCall;
    this.tokenTtlMs = options.tokenTtlMs ?? DEFAULT_TOKEN_TTL_MS;
    this.now = options.now ?? Date.now;
    this.apiHost = URL.canParse(options.baseUrl) ? new URL(options.baseUrl).host : options.baseUrl;
    this.agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
    this.apiRoot = `${options.baseUrl.replace(/\/+$/, '')}/api/v1/`;
    this.timeoutMs = options.timeoutMs;
    this.tokens = options.tokens(() => this.exchangeToken());
  }

  async exchangeToken(): Promise<AccessToken> {
    const answer = await this.send('token', 'POST', 'auth/token/client', { json: { api_key: this.apiKey } });
    if (!isSuccess(answer.status)) throw tokenExchangeError(answer, this.now());
    const body = answer.body;
    const token = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).access_token : undefined;
    if (typeof token !== 'string' || token === '') {
      throw new UnexpectedResponseError(`token answered ${answer.status} without an access_token`, { status: answer.status });
    }
    return { token, expiresAtMs: accessTokenExpiresAt(token, this.now(), this.tokenTtlMs) };
  }

  async getBalance(): Promise<number> {
    const answer = await this.authorized('balance', 'GET', 'account/balance');
    const body = answer.body;
    const raw = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).balance : undefined;
    const balance = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof balance !== 'number' || !Number.isFinite(balance)) {
      throw new UnexpectedResponseError(`balance answered ${answer.status} without a numeric balance`, { status: answer.status });
    }
    return balance;
  }

  async createOrder(request: CreateOrderRequest): Promise<Order> {
    // Checked here because the API's answer to a bad merchant_order_id (400 validation_error naming
    // the field) would look much like its answer to a duplicate one.
    if (request.merchantOrderId === '' || request.merchantOrderId.length > MAX_MERCHANT_ORDER_ID_LENGTH) {
      throw new ValidationError(`merchant_order_id must be 1..${MAX_MERCHANT_ORDER_ID_LENGTH} characters`);
    }
    const json: Record<string, unknown> = { item_id: request.itemId, merchant_order_id: request.merchantOrderId };
    if (request.quantity !== undefined) json.quantity = request.quantity;
    if (request.fields !== undefined) json.fields = request.fields;
    const answer = await this.authorized('create', 'POST', 'orders', json);
    return orderFromRest(answer.body);
  }

  async getOrder(id: string): Promise<Order> {
    if (id === '') throw new ValidationError('order id must not be empty');
    const answer = await this.authorized('lookup', 'GET', `orders/${encodeURIComponent(id)}`);
    return orderFromRest(answer.body);
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /**
   * A business call with the bearer token. A 401 means the request was not processed, so after
   * re-exchanging it is retried once, POST included; a second 401 is final.
   */
  private async authorized(
    endpoint: Exclude<ApiEndpoint, 'token'>,
    method: 'GET' | 'POST',
    path: string,
    json?: Record<string, unknown>,
  ): Promise<ApiAnswer> {
    const token = await this.tokens.getToken();
    let answer = await this.send(endpoint, method, path, { json, token });
    if (answer.status === 401) {
      this.logger.debug({ endpoint }, 'access token rejected; exchanging the key again');
      await this.tokens.invalidate(token);
      const renewed = await this.tokens.getToken();
      answer = await this.send(endpoint, method, path, { json, token: renewed });
    }
    if (!isSuccess(answer.status)) throw businessCallError(endpoint, answer, this.now());
    return answer;
  }

  private async send(endpoint: ApiEndpoint, method: 'GET' | 'POST', path: string, options: SendOptions): Promise<ApiAnswer> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    const report = (errorCode: ErrorCode | null): void => this.onCall?.({ endpoint, seconds: (performance.now() - started) / 1000, errorCode });
    let answer: ApiAnswer;
    try {
      const response = await sendHttp(this.agents, {
        method,
        url: new URL(path, this.apiRoot),
        headers: { ...BASE_HEADERS, ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }) },
        json: options.json,
        timeoutMs: this.timeoutMs,
      });
      this.logger.debug({ event: LOG_EVENT.apiCall, endpoint, status: response.status, durationMs: elapsed() }, 'api call');
      answer = { status: response.status, body: parseJson(response.body), retryAfter: response.retryAfter };
    } catch (err) {
      if (!(err instanceof HttpTransportError)) throw err;
      const failure = transportError(endpoint, err.failure, causeOf(err), this.apiHost);
      report(failure.code);
      this.logger.debug({ endpoint, failure: failure.code, reason: failure.message, durationMs: elapsed() }, 'api call failed');
      throw failure;
    }
    // A non-2xx answer is counted under the code its caller maps it to (a first 401 on a business
    // call, retried after a fresh exchange, counts as not_authenticated).
    if (isSuccess(answer.status)) report(null);
    else report((endpoint === 'token' ? tokenExchangeError(answer, this.now()) : businessCallError(endpoint, answer, this.now())).code);
    return answer;
  }
}

/** Create a client with its own keep-alive agents; call `close()` when done. */
export function createVoodooClient(options: VoodooClientOptions): VoodooClient {
  return new HttpVoodooClient(options);
}
