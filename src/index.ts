/**
 * Package root (`voodoo-fulfillment`): the producer API only — enqueue order intents and read their
 * results. Importing it starts nothing and loads no HTTP server, LMDB or HTTP client (a test installs
 * the packed package and checks). The API client is `voodoo-fulfillment/client`, the sandbox
 * `voodoo-fulfillment/sandbox`; the processes are the CLI.
 */
export { enqueueOrder, enqueueOrders, InvalidIntentError, type EnqueueOptions, type IntentTarget } from './queue/enqueue-order.js';
export { consumeResults, partitionPrefixes, type ConsumeResultsOptions } from './queue/consume-results.js';
export { partitionOf } from './redis/partitions.js';
export { INTENTS_QUEUE, RESULTS_QUEUE } from './queue/queue-names.js';
export { intentJobId, resolutionJobId, resultJobId } from './queue/job-ids.js';
export type { OrderIntent } from './lifecycle/intent.js';
export type { OrderResult, ResultStatus, ResultSource, ResultWarning } from './lifecycle/order-state.js';
export { FulfillmentError, type ErrorCode } from './errors/errors.js';
