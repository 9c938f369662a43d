/**
 * `voodoo-fulfillment/client`: the typed Voodoo Center API client (every failure a `FulfillmentError`
 * from the package root), the Redis-shared token provider it is usually given, the order shape, and
 * the webhook signature helpers for a receiver of your own.
 */
export {
  createVoodooClient,
  type ApiCallReport,
  type ApiEndpoint,
  type CreateOrderRequest,
  type VoodooClient,
  type VoodooClientOptions,
} from './api/voodoo-client.js';
export {
  RedisTokenProvider,
  type AccessToken,
  type RedisTokenProviderOptions,
  type TokenExchange,
  type TokenProvider,
} from './api/token-provider.js';
export type { Order, OrderStatus, ProductType } from './api/order.js';
export { SIGNATURE_HEADER, signWebhook, verifyWebhookSignature } from './webhook/signature.js';
