import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MAX_MERCHANT_ORDER_ID_LENGTH } from '../api/api-limits.js';
import { checkOrder } from '../catalog/order-rules.js';
import type { AccessTokens } from './access-tokens.js';
import { sendApiError, sendRateLimited } from './api-errors.js';
import type { FaultInjector } from './faults.js';
import type { Fulfilment } from './fulfilment.js';
import type { HangingReplies } from './hanging-replies.js';
import { restOrder } from './order-view.js';
import type { SandboxLedger } from './sandbox-ledger.js';
import type { SandboxCallCounts } from './sandbox-types.js';

/** What the /api/v1 routes work with. */
export interface ApiRouteDeps {
  tokens: AccessTokens;
  ledger: SandboxLedger;
  faults: FaultInjector;
  fulfilment: Fulfilment;
  hangs: HangingReplies;
  /** Mutated: one increment per request received. */
  calls: SandboxCallCounts;
  now: () => number;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;
// What a gateway in front of the API would answer: not the API's JSON envelope.
const BAD_GATEWAY_HTML = '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validation(reply: FastifyReply, detail: string): FastifyReply {
  return sendApiError(reply, 400, 'validation_error', detail);
}

/** The token exchange, the three business endpoints, and their faults, per shared/voodoo-api.md. */
export function registerApiRoutes(app: FastifyInstance, deps: ApiRouteDeps): void {
  const { tokens, ledger, faults, fulfilment, hangs, calls, now } = deps;

  /** Answers 401 and returns false unless the request carries a valid, unexpired token. */
  const authenticate = (request: FastifyRequest, reply: FastifyReply): boolean => {
    const header = request.headers.authorization;
    if (header === undefined) {
      void sendApiError(reply, 401, 'not_authenticated', 'Authentication credentials were not provided.');
      return false;
    }
    const token = BEARER.exec(header)?.[1];
    if (token === undefined || !tokens.isValid(token)) {
      void sendApiError(reply, 401, 'not_authenticated', 'Given token not valid for any token type.');
      return false;
    }
    return true;
  };

  app.post('/api/v1/auth/token/client', async (request, reply) => {
    calls.token += 1;
    if (faults.roll('token.unavailable')) return sendApiError(reply, 503, 'service_unavailable', 'Service temporarily unavailable.');
    const body = request.body;
    const apiKey = isPlainObject(body) ? body.api_key : undefined;
    if (typeof apiKey !== 'string') return reply.code(400).send({ error: 'api_key is required' });
    const result = tokens.exchange(apiKey);
    if (result.ok) return reply.code(200).send({ access_token: result.token, token_type: 'Bearer' });
    // The token exchange is the one endpoint whose errors are not in the usual envelope.
    if (result.reason === 'auth_disabled') return reply.code(403).send({ error: 'API key authentication is not enabled for this account' });
    return reply.code(401).send({ error: 'Invalid credentials' });
  });

  app.get('/api/v1/account/balance', async (request, reply) => {
    calls.balance += 1;
    if (!authenticate(request, reply)) return reply;
    if (faults.roll('balance.rateLimited')) return sendRateLimited(reply, faults.retryAfterSeconds);
    if (faults.roll('balance.serverError')) return sendApiError(reply, 500, 'server_error', 'A server error occurred.');
    return reply.code(200).send({ balance: ledger.balance() });
  });

  app.post('/api/v1/orders', async (request, reply) => {
    calls.create += 1;
    if (!authenticate(request, reply)) return reply;
    if (faults.roll('create.rateLimited')) return sendRateLimited(reply, faults.retryAfterSeconds);
    if (faults.roll('create.unavailableBeforeCommit')) {
      return sendApiError(reply, 503, 'service_unavailable', 'Service temporarily unavailable.');
    }

    const body = request.body;
    if (!isPlainObject(body)) return validation(reply, 'Expected a JSON object.');
    const itemId = body.item_id;
    if (itemId === undefined || itemId === null) return validation(reply, 'item_id: This field is required.');
    if (typeof itemId !== 'number' || !Number.isInteger(itemId)) return validation(reply, 'item_id: A valid integer is required.');

    // The duplicate check comes before the catalog and balance checks: a retry of an order that
    // already landed must be told so, even if stock or balance changed since.
    let merchantOrderId: string | null = null;
    const rawMerchantOrderId = body.merchant_order_id;
    if (rawMerchantOrderId !== undefined && rawMerchantOrderId !== null) {
      if (typeof rawMerchantOrderId !== 'string' || rawMerchantOrderId.length === 0) {
        return validation(reply, 'merchant_order_id: Must be a non-empty string.');
      }
      if (rawMerchantOrderId.length > MAX_MERCHANT_ORDER_ID_LENGTH) {
        return validation(reply, `merchant_order_id: Ensure this field has no more than ${MAX_MERCHANT_ORDER_ID_LENGTH} characters.`);
      }
      if (ledger.hasMerchantOrderId(rawMerchantOrderId)) {
        return validation(reply, 'merchant_order_id: an order with this merchant_order_id already exists.');
      }
      merchantOrderId = rawMerchantOrderId;
    }

    const item = ledger.item(itemId);
    const check = checkOrder(item, { quantity: body.quantity, fields: body.fields });
    if (!check.ok) return validation(reply, `${check.field}: ${check.message}`);
    if (!item) return validation(reply, 'item_id: no such item'); // unreachable: checkOrder rejects a missing item

    const placed = ledger.place({ item, merchantOrderId, quantity: check.quantity, cost: check.cost, displayFields: check.displayFields });
    if (!placed.ok) return sendApiError(reply, 400, 'insufficient_balance', 'Insufficient balance to place this order.');
    const order = placed.order;
    if (faults.decide('lookup.notFoundAfterCreate')) order.hiddenUntilMs = order.createdAtMs + faults.notFoundWindowMs;
    fulfilment.schedule(order);
    // Snapshot now: a delayed answer still describes the order as it was at commit.
    const created = restOrder(order, order.createdAtMs);

    if (faults.roll('create.badGatewayAfterCommit')) return reply.code(502).type('text/html').send(BAD_GATEWAY_HTML);
    if (faults.roll('create.resetAfterCommit')) {
      reply.hijack();
      request.raw.socket.resetAndDestroy();
      return reply;
    }
    if (faults.roll('create.hangAfterCommit')) {
      hangs.hold(reply, faults.hangMs, () => void reply.code(201).send(created));
      return reply;
    }
    return reply.code(201).send(created);
  });

  app.get<{ Params: { id: string } }>('/api/v1/orders/:id', async (request, reply) => {
    calls.lookup += 1;
    if (!authenticate(request, reply)) return reply;
    if (faults.roll('lookup.rateLimited')) return sendRateLimited(reply, faults.retryAfterSeconds);
    if (faults.roll('lookup.serverError')) return sendApiError(reply, 500, 'server_error', 'A server error occurred.');
    const order = ledger.get(request.params.id);
    const nowMs = now();
    if (order && nowMs < order.hiddenUntilMs) faults.record('lookup.notFoundAfterCreate');
    if (!order || nowMs < order.hiddenUntilMs) return sendApiError(reply, 404, 'not_found', 'Not found.');
    return reply.code(200).send(restOrder(order, nowMs));
  });
}
