import { describe, expect, it } from 'vitest';
import { emittedProblems, logProblems } from '../../../tools/chaos/chaos-log-checks.js';
import type { EmittedResult } from '../../../tools/chaos/chaos-log-facts.js';
import type { OrderResult } from '../../../src/lifecycle/order-state.js';
import { resultOfSandboxOrder, sandboxOrder } from '../../support/sandbox-fixtures.js';

const order = sandboxOrder;
const resultOf = resultOfSandboxOrder;

const byMid = (...results: OrderResult[]): Map<string, OrderResult> => new Map(results.map((r) => [r.merchant_order_id, r]));

describe('logProblems', () => {
  it('lists every leak with its safe excerpt, the leaks beyond those kept, and lines not scanned', () => {
    const problems = logProblems({
      leaks: [{ process: 'worker-2', line: 7, kind: 'access token', excerpt: '"auth":"Bearer [LEAK]"' }],
      droppedLeaks: 3,
      scanned: new Map([['worker-1', 5], ['worker-2', 10], ['worker-3', 4]]),
      written: new Map([['worker-1', 5], ['worker-2', 12]]),
    });
    expect(problems).toEqual([
      'access token in log line 7 of worker-2: "auth":"Bearer [LEAK]"',
      '… and 3 more leaks',
      'worker-2 wrote 12 log lines but 10 were scanned',
    ]);
  });

  it('finds nothing in a clean, fully scanned run', () => {
    expect(logProblems({ leaks: [], droppedLeaks: 0, scanned: new Map([['webhook-1', 5]]), written: new Map([['webhook-1', 5]]) })).toEqual([]);
  });
});

describe('emittedProblems', () => {
  const truth = order('a');
  const results = byMid(resultOf(truth));
  const emit = (over: Partial<EmittedResult> = {}): EmittedResult => ({ process: 'worker-1', status: 'completed', orderId: 'order-a', ...over });

  it('accepts the same result emitted twice (a re-emit after a crash)', () => {
    const facts = { emitted: new Map([['a', [emit(), emit({ process: 'worker-4' })]]]), webhookAcceptedAtMs: new Map([['a', 1]]) };
    expect(emittedProblems(results, facts, 1)).toEqual([]);
  });

  it('reports a worker that emitted a different outcome than the stored result, and an emit with no result', () => {
    const facts = {
      emitted: new Map([
        ['a', [emit(), emit({ process: 'worker-3', status: 'unresolved', orderId: null })]],
        ['ghost', [emit({ status: 'failed' })]],
      ]),
      webhookAcceptedAtMs: new Map([['a', 1]]),
    };
    expect(emittedProblems(results, facts, 1)).toEqual([
      'a: worker-3 emitted unresolved (order null) but the result is completed (order order-a)',
      'ghost: worker-1 logged a failed result that is not in order-results',
    ]);
  });

  it('fails rather than passing blind when the log messages it relies on were never seen', () => {
    expect(emittedProblems(results, { emitted: new Map(), webhookAcceptedAtMs: new Map() }, 5)).toEqual([
      'no worker log line has the event result_emitted: was it renamed?',
      'the sandbox saw 5 webhooks acknowledged but no receiver line has the event webhook_accepted: was it renamed?',
    ]);
  });
});
