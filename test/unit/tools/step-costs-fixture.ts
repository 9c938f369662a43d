import type { StepCostsReport } from '../../../tools/bench/step-costs-report.js';
import type { StepCost } from '../../../tools/bench/step-summary.js';

function stepCost(step: string, median: number, breakdown: { command: string; calls: number }[], overrides: Partial<StepCost> = {}): StepCost {
  return {
    step,
    covers: `what ${step} covers`,
    ranIn: 20,
    commands: { median, mean: median + 0.25 },
    sent: { median: Math.ceil(median / 4), mean: Math.ceil(median / 4) + 0.1 },
    usec: { median: median * 7, mean: median * 7.5 },
    breakdown,
    ...overrides,
  };
}

/** A traced webhook run of 20 orders, as steps.json holds it. */
export function stepsReport(): StepCostsReport {
  return {
    date: '2026-11-27T21:00:00.000Z',
    redis: '7.0.15',
    traces: [
      {
        mode: 'webhook',
        fulfilmentMs: 20,
        summary: {
          orders: 20,
          steps: [
            stepCost('enqueue', 11, [
              { command: 'zadd', calls: 2 },
              { command: 'evalsha', calls: 1 },
            ]),
            stepCost('claim', 4, [
              { command: 'hset', calls: 2 },
              { command: 'evalsha', calls: 1 },
              { command: 'hmget', calls: 1 },
            ]),
            stepCost('park', 0, [], { ranIn: 0, commands: { median: 0, mean: 0 }, sent: { median: 0, mean: 0 }, usec: { median: 0, mean: 0 } }),
          ],
          perOrder: { commands: { median: 136, mean: 140.3 }, sent: { median: 21, mean: 21.5 }, usec: { median: 940, mean: 1275.8 } },
          wholeRun: { commands: 2806, sent: 430, usec: 25_516 },
        },
      },
    ],
  };
}
