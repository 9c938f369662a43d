/** Public queue producers add order intents to. */
export const INTENTS_QUEUE = 'order-intents';
/** Public queue the worker emits exactly one result per merchant_order_id to. */
export const RESULTS_QUEUE = 'order-results';
