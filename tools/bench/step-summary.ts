import { round } from '../figures/run-figures.js';
import type { CommandCount } from './redis-stats.js';
import { addCounts, countTotals, type Segment } from './step-timeline.js';

/** One step's cost over the traced orders. */
export interface StepCost {
  step: string;
  /** What the step covers (see step-table.ts). */
  covers: string;
  /** Orders in which the step ran (had at least one segment). */
  ranIn: number;
  /** Commands per order (those a Lua script ran count one each, besides the EVALSHA): the median order's, and the mean. */
  commands: { median: number; mean: number };
  /** Commands the clients sent per order (round trips, roughly: a script is one, its inner commands none). */
  sent: { median: number; mean: number };
  /** Redis time per order, µs (commandstats `usec`; a script's time includes its commands', which are counted again on their own). */
  usec: { median: number; mean: number };
  /** The median order's commands in this step, most called first. */
  breakdown: { command: string; calls: number }[];
}

/** Everything one traced run measured. */
export interface StepSummary {
  /** Orders traced. */
  orders: number;
  /** Steps in report order; steps that never ran are left out unless listed as expected. */
  steps: StepCost[];
  /** A whole order (every segment of it, background included): median and mean. */
  perOrder: { commands: { median: number; mean: number }; sent: { median: number; mean: number }; usec: { median: number; mean: number } };
  /** The whole traced run as one commandstats delta (first reading → last, the tracer's readings left out), and the commands sent meanwhile. */
  wholeRun: { commands: number; sent: number; usec: number };
}

/**
 * The lower median: the middle value, or the lower of the two middle ones, so it is a value some
 * order really had (and its breakdown adds up to it). 0 for no values.
 */
export function lowerMedian(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** Commands sent by one order per step (segments of one step summed). */
function perOrderSent(segments: readonly Segment[], orders: number): Map<string, number>[] {
  const byOrder = Array.from({ length: orders }, () => new Map<string, number>());
  for (const segment of segments) byOrder[segment.order]?.set(segment.step, (byOrder[segment.order]?.get(segment.step) ?? 0) + segment.sent);
  return byOrder;
}

/** Commands of one order per step (segments of one step summed). */
function perOrderSteps(segments: readonly Segment[], orders: number): Map<string, Map<string, CommandCount>>[] {
  const byOrder = Array.from({ length: orders }, () => new Map<string, Map<string, CommandCount>>());
  for (const segment of segments) {
    const steps = byOrder[segment.order];
    if (steps === undefined) continue;
    const into = steps.get(segment.step) ?? new Map<string, CommandCount>();
    steps.set(segment.step, addCounts(into, segment.commands));
  }
  return byOrder;
}

function breakdownOf(counts: ReadonlyMap<string, CommandCount> | undefined): { command: string; calls: number }[] {
  return [...(counts ?? new Map<string, CommandCount>())]
    .map(([command, { calls }]) => ({ command, calls }))
    .sort((a, b) => b.calls - a.calls || a.command.localeCompare(b.command));
}

/**
 * Per step: commands and µs of each of the `orders` orders (0 where the step did not run), their
 * lower median and mean, and the median order's commands. Steps come in `definitions` order (those
 * in `expected` always, the others only when they ran), then any step not defined, in the order first seen.
 */
export function summarizeSteps(
  segments: readonly Segment[],
  orders: number,
  definitions: readonly { step: string; covers: string }[],
  expected: readonly string[],
  wholeRun: { commands: ReadonlyMap<string, CommandCount>; sent: number },
): StepSummary {
  const byOrder = perOrderSteps(segments, orders);
  const sentByOrder = perOrderSent(segments, orders);
  const seen = new Set(segments.filter((s) => s.order >= 0 && s.order < orders).map((s) => s.step));
  const defined = new Set(definitions.map((d) => d.step));
  const rows = [
    ...definitions.filter((d) => seen.has(d.step) || expected.includes(d.step)),
    ...[...seen].filter((step) => !defined.has(step)).map((step) => ({ step, covers: 'not in the step table' })),
  ];
  const steps = rows.map(({ step, covers }): StepCost => {
    const counts = byOrder.map((o) => o.get(step));
    const totals = counts.map((c) => countTotals(c ?? new Map()));
    const calls = totals.map((t) => t.calls);
    const medianCalls = lowerMedian(calls);
    const medianOrder = counts[calls.indexOf(medianCalls)];
    const sent = sentByOrder.map((o) => o.get(step) ?? 0);
    return {
      step,
      covers,
      ranIn: counts.filter((c) => c !== undefined).length,
      commands: { median: medianCalls, mean: round(mean(calls), 2) },
      sent: { median: lowerMedian(sent), mean: round(mean(sent), 2) },
      usec: { median: lowerMedian(totals.map((t) => t.usec)), mean: round(mean(totals.map((t) => t.usec)), 1) },
      breakdown: breakdownOf(medianOrder),
    };
  });
  const orderTotals = byOrder.map((o) => countTotals([...o.values()].reduce((all, c) => addCounts(all, c), new Map<string, CommandCount>())));
  const orderSent = sentByOrder.map((o) => [...o.values()].reduce((sum, n) => sum + n, 0));
  const whole = countTotals(wholeRun.commands);
  return {
    orders,
    steps,
    perOrder: {
      commands: { median: lowerMedian(orderTotals.map((t) => t.calls)), mean: round(mean(orderTotals.map((t) => t.calls)), 2) },
      sent: { median: lowerMedian(orderSent), mean: round(mean(orderSent), 2) },
      usec: { median: lowerMedian(orderTotals.map((t) => t.usec)), mean: round(mean(orderTotals.map((t) => t.usec)), 1) },
    },
    wholeRun: { commands: whole.calls, sent: wholeRun.sent, usec: whole.usec },
  };
}
