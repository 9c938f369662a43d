/**
 * BullMQ job ids may not contain ':' (it separates key parts) and may not be all digits (those are
 * taken for generated ids). merchant_order_id may contain anything, so it is escaped reversibly:
 * '%' → '%25', ':' → '%3A', and a prefix keeps it from ever being all digits.
 */
function escapeId(merchantOrderId: string): string {
  return merchantOrderId.replace(/%/g, '%25').replace(/:/g, '%3A');
}

/** jobId `enqueueOrder` gives an intent, so re-enqueueing the same intent is a no-op while the job exists. */
export function intentJobId(merchantOrderId: string): string {
  return `intent-${escapeId(merchantOrderId)}`;
}

/** jobId of the one result job for a merchant_order_id in `order-results`. */
export function resultJobId(merchantOrderId: string): string {
  return `result-${escapeId(merchantOrderId)}`;
}

/**
 * jobId of the one resolution for a merchant_order_id in `order-results` (the result that may follow
 * an `unresolved` one): its own id, so it is emitted once too and never collides with the result's.
 */
export function resolutionJobId(merchantOrderId: string): string {
  return `resolution-${escapeId(merchantOrderId)}`;
}

/** jobId of an operator's resolve request in `order-intents` (named {@link RESOLVE_JOB_NAME}): one at a time per id. */
export function resolveRequestJobId(merchantOrderId: string): string {
  return `resolve-${escapeId(merchantOrderId)}`;
}

/** Name of a resolve request job in `order-intents` (intents are named `order`). */
export const RESOLVE_JOB_NAME = 'resolve';
