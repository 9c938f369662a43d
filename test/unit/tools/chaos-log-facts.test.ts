import { describe, expect, it } from 'vitest';
import { LogFactCollector } from '../../../tools/chaos/chaos-log-facts.js';
import { createNoticeReporter, reportEmitted } from '../../../src/handlers/order-effects.js';
import { LOG_EVENT } from '../../../src/logging/log-events.js';
import { createLogger } from '../../../src/logging/logger.js';
import { createPipelineMetrics } from '../../../src/metrics/pipeline-metrics.js';
import { sampleResult } from '../../support/fixtures.js';

const line = (fields: Record<string, unknown>): string => JSON.stringify({ level: 30, pid: 1, ...fields });

describe('LogFactCollector', () => {
  it('keeps the first time the receiver stored a webhook for each merchant_order_id', () => {
    const c = new LogFactCollector();
    c.read('webhook-1', line({ time: 2_000, event: 'webhook_accepted', merchant_order_id: 'a', outcome: 'duplicate' }));
    c.read('webhook-1', line({ time: 1_000, event: 'webhook_accepted', merchant_order_id: 'a', outcome: 'stored' }));
    c.read('webhook-1', line({ time: 3_000, event: 'webhook_accepted', merchant_order_id: 'b' }));
    expect(c.facts().webhookAcceptedAtMs).toEqual(new Map([['a', 1_000], ['b', 3_000]]));
  });

  it('records every result a worker emitted, repeats included', () => {
    const c = new LogFactCollector();
    c.read('worker-1', line({ event: 'result_emitted', merchant_order_id: 'a', status: 'completed', order_id: 'o-1' }));
    c.read('worker-4', line({ event: 'result_emitted', merchant_order_id: 'a', status: 'completed', order_id: 'o-1' }));
    c.read('worker-2', line({ event: 'result_emitted', merchant_order_id: 'b', status: 'unresolved', order_id: null }));
    expect(c.facts().emitted).toEqual(
      new Map([
        [
          'a',
          [
            { process: 'worker-1', status: 'completed', orderId: 'o-1' },
            { process: 'worker-4', status: 'completed', orderId: 'o-1' },
          ],
        ],
        ['b', [{ process: 'worker-2', status: 'unresolved', orderId: null }]],
      ]),
    );
  });

  it('notes creates a worker reported as ambiguous', () => {
    const c = new LogFactCollector();
    c.read('worker-1', line({ event: 'create_ambiguous', merchant_order_id: 'a' }));
    c.read('worker-1', line({ event: 'awaiting_webhook', merchant_order_id: 'b' }));
    c.read('worker-1', line({ event: 'order_placed', merchant_order_id: 'c' }));
    expect(c.facts().ambiguousCreates).toEqual(new Set(['a', 'b']));
  });

  it('keys on the event, never on the message', () => {
    const c = new LogFactCollector();
    // The old messages without an event are nothing; an event under any message is the fact.
    c.read('worker-1', line({ msg: 'result emitted', merchant_order_id: 'a', status: 'completed', order_id: 'o-1' }));
    c.read('webhook-1', line({ msg: 'webhook event accepted', time: 1, merchant_order_id: 'a' }));
    c.read('worker-1', line({ msg: 'create outcome unknown: retrying with the same merchant_order_id', merchant_order_id: 'a' }));
    c.read('worker-2', line({ msg: 'reworded', event: 'result_emitted', merchant_order_id: 'b', status: 'failed', order_id: 'o-2' }));
    const facts = c.facts();
    expect(facts.emitted).toEqual(new Map([['b', [{ process: 'worker-2', status: 'failed', orderId: 'o-2' }]]]));
    expect(facts.webhookAcceptedAtMs.size).toBe(0);
    expect(facts.ambiguousCreates.size).toBe(0);
  });

  it('ignores other lines and counts those that are not JSON', () => {
    const c = new LogFactCollector();
    c.read('worker-1', line({ msg: 'worker started', event: 'worker_started' }));
    c.read('worker-1', 'Error: boom');
    c.read('worker-1', '    at result_emitted (x.js:1:1)');
    c.read('worker-1', '{"event":"result_emitted","merchant_order_id":"a", cut short');
    c.read('worker-1', line({ event: 'result_emitted', status: 'completed' }));
    const facts = c.facts();
    expect(facts.emitted.size).toBe(0);
    expect(facts.unparsedLines).toBe(3);
  });

  it('reads the lines the worker and the receiver actually write', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (l: string) => void lines.push(l.trimEnd()) } }).child({ merchant_order_id: 'mo-1' });
    const metrics = createPipelineMetrics();
    const report = createNoticeReporter({ metrics });
    report(logger, { kind: 'create_ambiguous', attempt: 1, message: 'socket hang up' });
    report(logger.child({ merchant_order_id: 'mo-2' }), { kind: 'awaiting_webhook', code: 'duplicate_merchant_order_id' });
    reportEmitted(logger, metrics, sampleResult('mo-1', { status: 'completed', order_id: 'o-1' }), 'worker', { enqueuedAtMs: null, emittedAtMs: Date.now() });

    const c = new LogFactCollector();
    for (const l of lines) c.read('worker-1', l);
    expect(lines.map((l) => (JSON.parse(l) as { event?: string }).event)).toEqual([
      LOG_EVENT.createAmbiguous,
      LOG_EVENT.awaitingWebhook,
      LOG_EVENT.resultEmitted,
    ]);
    expect(c.facts().ambiguousCreates).toEqual(new Set(['mo-1', 'mo-2']));
    expect(c.facts().emitted.get('mo-1')).toEqual([{ process: 'worker-1', status: 'completed', orderId: 'o-1' }]);
  });
});
