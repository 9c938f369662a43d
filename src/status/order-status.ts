import type { Queue } from 'bullmq';
import type { LedgerView } from '../ledger/order-ledger.js';
import type { OrderResult, Phase, ResultStatus } from '../lifecycle/order-state.js';
import { intentJobId, resultJobId } from '../queue/job-ids.js';

/** Where one merchant_order_id stands, as an operator asks about it. Never holds delivered codes. */
export interface OrderStatusReport {
  merchant_order_id: string;
  /**
   * A lifecycle phase (see order-state.ts); `expired` when the order finished longer ago than
   * RETENTION_SECONDS (only its tombstone is left, until TOMBSTONE_TTL_SECONDS); `unknown` when no
   * worker has claimed it, or its tombstone expired too.
   */
  phase: Phase | 'expired' | 'unknown';
  /** Voodoo Center's order id, once known. */
  order_id: string | null;
  /** POST attempts recorded so far (null without a record). */
  attempts: number | null;
  /**
   * When the placed order was flagged stuck (no terminal status after ORDER_STUCK_AFTER_MS), ISO
   * time; null while it is not. A stuck order is still polled.
   */
  stuck_since: string | null;
  /** BullMQ state of the intent job (`waiting`, `delayed`, `active`, `completed`…), null when there is none. */
  intent_job: string | null;
  /** Status of the last webhook event stored for it, if any. */
  webhook_status: string | null;
  /** Final status from the tombstone (also when the record itself expired; null once the tombstone expired too). */
  final_status: string | null;
  /** The result in `order-results`, with the codes counted, not shown (they are money). */
  result: {
    status: ResultStatus;
    /** BullMQ state of the result job: `waiting` until a consumer takes it. */
    job_state: string;
    delivered_quantity: number;
    refund_amount: number;
    codes_count: number;
    error: string | null;
    resolved_at: string;
  } | null;
}

/** What {@link orderStatus} reads from. */
export interface OrderStatusSources {
  /** Read-only view of the ledger (OrderLedger.view). */
  view: (merchantOrderId: string) => Promise<LedgerView>;
  intents: Queue;
  results: Queue<OrderResult>;
}

async function jobState(queue: Queue, jobId: string): Promise<string | null> {
  const state = await queue.getJobState(jobId);
  return state === 'unknown' ? null : state;
}

/** Gather one merchant_order_id's ledger record, tombstone, intent job and result job. */
export async function orderStatus(sources: OrderStatusSources, merchantOrderId: string): Promise<OrderStatusReport> {
  const [view, intentJob, resultJob, resultJobState] = await Promise.all([
    sources.view(merchantOrderId),
    jobState(sources.intents, intentJobId(merchantOrderId)),
    sources.results.getJob(resultJobId(merchantOrderId)),
    jobState(sources.results, resultJobId(merchantOrderId)),
  ]);
  const state = view.state;
  let phase: OrderStatusReport['phase'] = 'unknown';
  if (state !== null) phase = state.phase;
  else if (view.finishedStatus !== null) phase = 'expired';
  const result = resultJob?.data;
  return {
    merchant_order_id: merchantOrderId,
    phase,
    order_id: state?.orderId ?? result?.order_id ?? view.webhookOrder?.id ?? null,
    attempts: state?.attempts ?? null,
    stuck_since: state?.stuckSinceMs === null || state?.stuckSinceMs === undefined || state.phase !== 'placed' ? null : new Date(state.stuckSinceMs).toISOString(),
    intent_job: intentJob,
    webhook_status: view.webhookOrder?.status ?? null,
    final_status: view.finishedStatus,
    result:
      result === undefined
        ? null
        : {
            status: result.status,
            job_state: resultJobState ?? 'unknown',
            delivered_quantity: result.delivered_quantity,
            refund_amount: result.refund_amount,
            // Result data is written by this project, but a foreign producer could put anything there.
            codes_count: Array.isArray(result.codes) ? result.codes.length : 0,
            error: result.error,
            resolved_at: result.resolved_at,
          },
  };
}

/** One human-readable line for a report. */
export function formatOrderStatus(report: OrderStatusReport): string {
  const parts: string[] = [];
  if (report.order_id !== null) parts.push(`order ${report.order_id}`);
  if (report.attempts !== null) parts.push(`${report.attempts} attempt(s)`);
  if (report.stuck_since !== null) parts.push(`stuck since ${report.stuck_since} (no terminal status; still polled)`);
  if (report.intent_job !== null) parts.push(`intent job ${report.intent_job}`);
  if (report.webhook_status !== null) parts.push(`webhook said ${report.webhook_status}`);
  const result = report.result;
  if (result !== null) {
    const codes = result.codes_count > 0 ? `, ${result.codes_count} code(s) in the result job (not shown)` : '';
    const error = result.error !== null ? `, error ${result.error}` : '';
    parts.push(`result ${result.status} (job ${result.job_state}${error}${codes})`);
  } else if (report.phase === 'expired') {
    parts.push(`finished as ${report.final_status ?? '?'}; record and result are past RETENTION_SECONDS`);
  }
  if (report.phase === 'unknown' && report.intent_job === null) {
    parts.push(report.webhook_status === null ? 'never enqueued (or removed)' : 'no intent for it: the webhook event is stored, not dropped');
  }
  return `${report.merchant_order_id}: ${report.phase}${parts.length > 0 ? ` — ${parts.join(', ')}` : ''}`;
}
