/**
 * Limits of the Voodoo Center API contract that producers' intents are checked against too. A module
 * of its own so the intent check (and with it the package root) does not load the API's order parser.
 */

/** Longest `merchant_order_id` the API accepts, in characters. */
export const MAX_MERCHANT_ORDER_ID_LENGTH = 100;
