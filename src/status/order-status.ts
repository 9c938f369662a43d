import type { Queue } from 'bullmq';
import type { LedgerView } from '../ledger/order-ledger.js';
import type { OrderResult, Phase, ResultStatus } from '../lifecycle/order-state.js';
import { intentJobId, resolutionJobId, resultJobId } from '../queue/job-ids.js';
import { printable } from '../text/printable.js';

/** Where one merchant_order_id stands, as an operator asks about it. Never holds delivered codes. */
export interface OrderStatusReport {
  merchant_order_id: string;
  /**
   * A lifecycle phase (see order-state.ts); `expired` when the order finished longer ago than
   * RETENTION_SECONDS (only its tombstone is left, until TOMBSTONE_TTL_SECONDS); `queued` when its
   * intent job waits and no worker has claimed it yet; `unknown` when there is neither a record, nor
   * a tombstone, nor a waiting intent job.
   */
  phase: Phase | 'expired' | 'queued' | 'unknown';
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
  /**
   * While a placed order is handed to its webhook (its intent job completed; see the machine's
   * `hand_off`): when its job runs again if no result comes first (the safety-net poll), ISO time.
   * Null otherwise. Absent from reports of older releases.
   */
  handed_off_until?: string | null;
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
  /**
   * The resolution that followed an `unresolved` result (a late webhook, or `resolve`): the order's
   * real outcome, codes counted, not shown. Null while there is none.
   */
  resolution: {
    status: ResultStatus;
    /** BullMQ state of the resolution job. */
    job_state: string;
    codes_count: number;
  } | null;
}

/** What {@link orderStatus} reads from. */
export interface OrderStatusSources {
  /** Read-only view of the ledger (OrderLedger.view). */
  view: (merchantOrderId: string) => Promise<LedgerView>;
  intents: Queue;
  results: Queue<OrderResult>;
}

/** BullMQ states of a job no worker has taken yet. */
const QUEUED_STATES: ReadonlySet<string> = new Set(['waiting', 'prioritized', 'delayed', 'waiting-children']);

async function jobState(queue: Queue, jobId: string): Promise<string | null> {
  const state = await queue.getJobState(jobId);
  return state === 'unknown' ? null : state;
}

/** Gather one merchant_order_id's ledger record, tombstone, intent job and result job. */
export async function orderStatus(sources: OrderStatusSources, merchantOrderId: string): Promise<OrderStatusReport> {
  const [view, intentJob, resultJob, resultJobState, resolutionJob, resolutionJobState] = await Promise.all([
    sources.view(merchantOrderId),
    jobState(sources.intents, intentJobId(merchantOrderId)),
    sources.results.getJob(resultJobId(merchantOrderId)),
    jobState(sources.results, resultJobId(merchantOrderId)),
    sources.results.getJob(resolutionJobId(merchantOrderId)),
    jobState(sources.results, resolutionJobId(merchantOrderId)),
  ]);
  const resolution = resolutionJob?.data;
  const state = view.state;
  let phase: OrderStatusReport['phase'] = 'unknown';
  if (state !== null) phase = state.phase;
  else if (view.finishedStatus !== null) phase = 'expired';
  else if (intentJob !== null && QUEUED_STATES.has(intentJob)) phase = 'queued';
  const result = resultJob?.data;
  return {
    merchant_order_id: merchantOrderId,
    phase,
    order_id: state?.orderId ?? result?.order_id ?? view.webhookOrder?.id ?? null,
    attempts: state?.attempts ?? null,
    stuck_since: state?.stuckSinceMs === null || state?.stuckSinceMs === undefined || state.phase !== 'placed' ? null : new Date(state.stuckSinceMs).toISOString(),
    intent_job: intentJob,
    handed_off_until: state?.remindAtMs === null || state?.remindAtMs === undefined || state.phase === 'done' ? null : new Date(state.remindAtMs).toISOString(),
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
    resolution:
      resolution === undefined
        ? null
        : {
            status: resolution.status,
            job_state: resolutionJobState ?? 'unknown',
            codes_count: Array.isArray(resolution.codes) ? resolution.codes.length : 0,
          },
  };
}

/**
 * One human-readable line for a report. Every value is printed with its control characters escaped:
 * an id holding a newline must not forge a second line.
 */
export function formatOrderStatus(report: OrderStatusReport): string {
  const parts: string[] = [];
  if (report.order_id !== null) parts.push(`order ${printable(report.order_id)}`);
  if (report.attempts !== null) parts.push(`${report.attempts} attempt(s)`);
  if (report.stuck_since !== null) parts.push(`stuck since ${report.stuck_since} (no terminal status; still polled)`);
  if (report.intent_job !== null) parts.push(`intent job ${printable(report.intent_job)}`);
  if (report.handed_off_until !== null && report.handed_off_until !== undefined) {
    parts.push(`handed to its webhook (safety-net poll at ${printable(report.handed_off_until)})`);
  }
  if (report.webhook_status !== null) parts.push(`webhook said ${printable(report.webhook_status)}`);
  const result = report.result;
  if (result !== null) {
    const codes = result.codes_count > 0 ? `, ${result.codes_count} code(s) in the result job (not shown)` : '';
    const error = result.error !== null ? `, error ${printable(result.error)}` : '';
    parts.push(`result ${printable(result.status)} (job ${printable(result.job_state)}${error}${codes})`);
  }
  if (report.resolution !== null) {
    const { status, job_state: jobState, codes_count: codes } = report.resolution;
    const counted = codes > 0 ? `, ${codes} code(s) in the resolution job (not shown)` : '';
    parts.push(`resolved later as ${printable(status)} (job ${printable(jobState)}${counted})`);
  }
  if (result === null && report.phase === 'expired') {
    parts.push(`finished as ${printable(report.final_status ?? '?')}; record and result are past RETENTION_SECONDS`);
  }
  if (report.phase === 'unknown' && report.intent_job === null) {
    parts.push(report.webhook_status === null ? 'never enqueued (or removed)' : 'no intent for it: the webhook event is stored, not dropped');
  }
  const phase = report.phase === 'queued' ? 'queued, waiting for a worker' : report.phase;
  return `${printable(report.merchant_order_id)}: ${phase}${parts.length > 0 ? ` — ${parts.join(', ')}` : ''}`;
}
