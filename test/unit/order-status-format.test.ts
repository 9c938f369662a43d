import { describe, expect, it } from 'vitest';
import { formatOrderStatus, type OrderStatusReport } from '../../src/status/order-status.js';

const base: OrderStatusReport = {
  merchant_order_id: 'm-1',
  phase: 'unknown',
  order_id: null,
  attempts: null,
  stuck_since: null,
  intent_job: null,
  webhook_status: null,
  final_status: null,
  result: null,
  resolution: null,
};

describe('the status line of one merchant_order_id', () => {
  it('says an id nothing knows was never enqueued', () => {
    expect(formatOrderStatus(base)).toBe('m-1: unknown — never enqueued (or removed)');
  });

  it('says a finished order past retention finished, and how', () => {
    expect(formatOrderStatus({ ...base, phase: 'expired', final_status: 'partial' })).toBe(
      'm-1: expired — finished as partial; record and result are past RETENTION_SECONDS',
    );
  });

  it('gives a failed result its error and no code count', () => {
    const line = formatOrderStatus({
      ...base,
      phase: 'done',
      order_id: 'o-9',
      attempts: 2,
      intent_job: 'completed',
      result: { status: 'failed', job_state: 'completed', delivered_quantity: 0, refund_amount: 18, codes_count: 0, error: 'OUT_OF_STOCK', resolved_at: '2026-11-26T00:00:00.000Z' },
    });
    expect(line).toBe('m-1: done — order o-9, 2 attempt(s), intent job completed, result failed (job completed, error OUT_OF_STOCK)');
  });

  it('shows an order in flight with what the webhook said', () => {
    expect(formatOrderStatus({ ...base, phase: 'placed', order_id: 'o-1', attempts: 1, intent_job: 'delayed', webhook_status: 'pending' })).toBe(
      'm-1: placed — order o-1, 1 attempt(s), intent job delayed, webhook said pending',
    );
  });

  it('says since when a placed order is stuck, and that it is still polled', () => {
    expect(
      formatOrderStatus({ ...base, phase: 'placed', order_id: 'o-2', attempts: 1, stuck_since: '2026-11-26T01:00:00.000Z', intent_job: 'delayed' }),
    ).toBe('m-1: placed — order o-2, 1 attempt(s), stuck since 2026-11-26T01:00:00.000Z (no terminal status; still polled), intent job delayed');
  });

  it('says a placed order is handed to its webhook, and when its safety-net poll runs', () => {
    expect(
      formatOrderStatus({ ...base, phase: 'placed', order_id: 'o-3', attempts: 1, intent_job: 'completed', handed_off_until: '2026-11-26T01:00:30.000Z' }),
    ).toBe('m-1: placed — order o-3, 1 attempt(s), intent job completed, handed to its webhook (safety-net poll at 2026-11-26T01:00:30.000Z)');
  });

  it('says a webhook event without any intent was kept', () => {
    expect(formatOrderStatus({ ...base, order_id: 'o-7', webhook_status: 'completed' })).toBe(
      'm-1: unknown — order o-7, webhook said completed, no intent for it: the webhook event is stored, not dropped',
    );
  });
  it('names the resolution that followed an unresolved result, codes counted', () => {
    const line = formatOrderStatus({
      ...base,
      phase: 'done',
      order_id: 'o-3',
      result: { status: 'unresolved', job_state: 'completed', delivered_quantity: 0, refund_amount: 0, codes_count: 0, error: 'unresolved', resolved_at: '2026-11-26T00:00:00.000Z' },
      resolution: { status: 'completed', job_state: 'waiting', codes_count: 2 },
    });
    expect(line).toBe(
      'm-1: done — order o-3, result unresolved (job completed, error unresolved), resolved later as completed (job waiting, 2 code(s) in the resolution job (not shown))',
    );
  });

  it('says an intent no worker has taken yet is queued, waiting for a worker', () => {
    expect(formatOrderStatus({ ...base, phase: 'queued', intent_job: 'prioritized' })).toBe('m-1: queued, waiting for a worker — intent job prioritized');
  });

  it('escapes control characters in every value, so an id cannot forge a line', () => {
    const line = formatOrderStatus({
      ...base,
      merchant_order_id: 'm-1\nm-2: done — order forged',
      phase: 'done',
      order_id: 'o-\u001b[2Jx',
      intent_job: 'completed',
      result: { status: 'failed', job_state: 'completed', delivered_quantity: 0, refund_amount: 0, codes_count: 0, error: 'E\r\u202eX', resolved_at: '2026-11-26T00:00:00.000Z' },
    });
    for (const raw of ['\n', '\r', '\u001b', '\u202e']) expect(line).not.toContain(raw);
    expect(line).toBe('m-1\\nm-2: done — order forged: done — order o-\\u001b[2Jx, intent job completed, result failed (job completed, error E\\r\\u202eX)');
  });
});
