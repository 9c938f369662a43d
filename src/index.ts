/**
 * Library entry of voodoo-fulfillment: what producers and integrators import. Importing it starts
 * nothing.
 */
export { enqueueOrder, enqueueOrders, InvalidIntentError, type EnqueueOptions } from './queue/enqueue-order.js';
export { INTENTS_QUEUE, RESULTS_QUEUE } from './queue/queue-names.js';
export { intentJobId, resultJobId } from './queue/job-ids.js';
export type { OrderIntent } from './lifecycle/intent.js';
export type { OrderResult, ResultStatus, ResultSource } from './lifecycle/order-state.js';
export { createVoodooClient, type VoodooClient, type VoodooClientOptions, type CreateOrderRequest } from './api/voodoo-client.js';
export { RedisTokenProvider, type TokenProvider } from './api/token-provider.js';
export type { Order, OrderStatus } from './api/order.js';
export { signWebhook, verifyWebhookSignature } from './webhook/signature.js';
export { FulfillmentError, type ErrorCode } from './errors/errors.js';
export { loadConfig, type Config } from './config/config.js';
export { startSandbox } from './sandbox/sandbox-server.js';
export type { Sandbox, SandboxOptions, FaultConfig } from './sandbox/sandbox-types.js';
export { readCatalogFile, writeCatalogFile } from './catalog/catalog-file.js';
export { Catalog } from './catalog/catalog.js';
