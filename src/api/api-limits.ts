/**
 * Limits of the Voodoo Center API contract that producers' intents are checked against too. A module
 * of its own so the intent check (and with it the package root) does not load the API's order parser.
 */

/** Longest `merchant_order_id` the API accepts, in characters. */
export const MAX_MERCHANT_ORDER_ID_LENGTH = 100;

/**
 * Longest order id a webhook event may carry, in characters. The API's ids are UUIDs (36); the
 * contract gives no limit, so this is generous: it only keeps a signed event from naming a huge key.
 */
export const MAX_ORDER_ID_LENGTH = 100;
