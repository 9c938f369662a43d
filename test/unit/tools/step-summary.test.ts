import { describe, expect, it } from 'vitest';
import type { CommandCount } from '../../../tools/bench/redis-stats.js';
import { lowerMedian, summarizeSteps } from '../../../tools/bench/step-summary.js';
import type { Segment } from '../../../tools/bench/step-timeline.js';

/** A segment whose clients sent one command per script (evalsha) and per plain command, as a rough stand-in. */
function segment(order: number, step: string, commands: Record<string, number>): Segment {
  const counts = new Map(Object.entries(commands).map(([command, calls]): [string, CommandCount] => [command, { calls, usec: calls * 10 }]));
  return { order, step, commands: counts, sent: commands.evalsha ?? Object.values(commands).reduce((sum, n) => sum + n, 0) };
}

const DEFINITIONS = [
  { step: 'enqueue', covers: 'adding the intent' },
  { step: 'claim', covers: 'the CLAIM script' },
  { step: 'park', covers: 'moveToDelayed' },
  { step: 'other', covers: 'the rest' },
];

describe('lowerMedian', () => {
  it('is the middle value, or the lower of the two middle ones', () => {
    expect(lowerMedian([5, 1, 3])).toBe(3);
    expect(lowerMedian([4, 1, 3, 2])).toBe(2);
    expect(lowerMedian([])).toBe(0);
  });
});

describe('summarizeSteps', () => {
  const segments: Segment[] = [
    segment(0, 'enqueue', { evalsha: 1, zadd: 2 }),
    segment(0, 'claim', { evalsha: 1, hmget: 1, hset: 2 }),
    segment(0, 'other', { bzpopmin: 1 }),
    segment(1, 'enqueue', { evalsha: 1, zadd: 2 }),
    segment(1, 'claim', { evalsha: 1, hmget: 1, hset: 2 }),
    // A step met twice in one order counts once, summed.
    segment(1, 'claim', { evalsha: 1 }),
    segment(1, 'other', { bzpopmin: 5, del: 2 }),
    segment(2, 'enqueue', { evalsha: 1, zadd: 2 }),
    segment(2, 'claim', { evalsha: 1, hmget: 1, hset: 2 }),
    segment(2, 'mystery', { get: 1 }),
  ];
  const whole = new Map<string, CommandCount>([['evalsha', { calls: 99, usec: 990 }]]);
  const summary = summarizeSteps(segments, 3, DEFINITIONS, ['enqueue', 'claim', 'park'], { commands: whole, sent: 42 });
  const step = (name: string) => {
    const found = summary.steps.find((s) => s.step === name);
    if (found === undefined) throw new Error(`no step ${name}`);
    return found;
  };

  it('takes the lower median and the mean over every order, 0 where a step did not run', () => {
    expect(step('claim').commands).toEqual({ median: 4, mean: 4.33 });
    expect(step('claim').usec).toEqual({ median: 40, mean: 43.3 });
    expect(step('other').commands).toEqual({ median: 1, mean: 2.67 });
    // Sent: one per script in claim (1, 1 + 1, 1); the background's plain commands one each (1, 7, 0).
    expect(step('claim').sent).toEqual({ median: 1, mean: 1.33 });
    expect(step('other').sent).toEqual({ median: 1, mean: 2.67 });
    expect(step('other').ranIn).toBe(2);
  });

  it('lists the median order’s commands, most called first', () => {
    expect(step('claim').breakdown).toEqual([
      { command: 'hset', calls: 2 },
      { command: 'evalsha', calls: 1 },
      { command: 'hmget', calls: 1 },
    ]);
  });

  it('keeps the table’s order, shows an expected step that never ran as 0, and appends steps the table does not know', () => {
    expect(summary.steps.map((s) => s.step)).toEqual(['enqueue', 'claim', 'park', 'other', 'mystery']);
    expect(step('park')).toMatchObject({ ranIn: 0, commands: { median: 0, mean: 0 }, breakdown: [] });
    expect(step('mystery').covers).toBe('not in the step table');
  });

  it('totals each whole order, and keeps the whole run as measured', () => {
    // Orders: 3 + 4 + 1 = 8, 3 + 5 + 7 = 15, 3 + 4 + 1 (mystery) = 8.
    expect(summary.perOrder.commands).toEqual({ median: 8, mean: 10.33 });
    expect(summary.wholeRun).toEqual({ commands: 99, sent: 42, usec: 990 });
    // Sent per order: 1 + 1 + 1 = 3, 1 + 2 + 7 = 10, 1 + 1 + 1 = 3.
    expect(summary.perOrder.sent).toEqual({ median: 3, mean: 5.33 });
    expect(summary.orders).toBe(3);
  });
});
