import { describe, expect, it } from 'vitest';
import { LogFactCollector } from '../../../tools/chaos/chaos-log-facts.js';

const line = (fields: Record<string, unknown>): string => JSON.stringify({ level: 30, pid: 1, ...fields });

describe('LogFactCollector', () => {
  it('keeps the first time the receiver stored a webhook for each merchant_order_id', () => {
    const c = new LogFactCollector();
    c.read('webhook-1', line({ time: 2_000, msg: 'webhook event accepted', merchant_order_id: 'a', outcome: 'duplicate' }));
    c.read('webhook-1', line({ time: 1_000, msg: 'webhook event accepted', merchant_order_id: 'a', outcome: 'stored' }));
    c.read('webhook-1', line({ time: 3_000, msg: 'webhook event accepted', merchant_order_id: 'b' }));
    expect(c.facts().webhookAcceptedAtMs).toEqual(new Map([['a', 1_000], ['b', 3_000]]));
  });

  it('records every result a worker emitted, repeats included', () => {
    const c = new LogFactCollector();
    c.read('worker-1', line({ msg: 'result emitted', merchant_order_id: 'a', status: 'completed', order_id: 'o-1' }));
    c.read('worker-4', line({ msg: 'result emitted', merchant_order_id: 'a', status: 'completed', order_id: 'o-1' }));
    c.read('worker-2', line({ msg: 'result emitted', merchant_order_id: 'b', status: 'unresolved', order_id: null }));
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
    c.read('worker-1', line({ msg: 'create outcome unknown: retrying with the same merchant_order_id', merchant_order_id: 'a' }));
    c.read('worker-1', line({ msg: 'an earlier attempt may have landed but its order id is unknown: waiting for the webhook', merchant_order_id: 'b' }));
    c.read('worker-1', line({ msg: 'order placed', merchant_order_id: 'c' }));
    expect(c.facts().ambiguousCreates).toEqual(new Set(['a', 'b']));
  });

  it('ignores other lines and counts those that are not JSON', () => {
    const c = new LogFactCollector();
    c.read('worker-1', line({ msg: 'worker started' }));
    c.read('worker-1', 'Error: boom');
    c.read('worker-1', '    at result emitted (x.js:1:1)');
    c.read('worker-1', line({ msg: 'result emitted', status: 'completed' }));
    const facts = c.facts();
    expect(facts.emitted.size).toBe(0);
    expect(facts.unparsedLines).toBe(2);
  });
});
