import type { OrderResult, ResultStatus } from '../../src/lifecycle/order-state.js';
import type { SandboxStats } from '../../src/sandbox/sandbox-types.js';

/*
 * The figures the demo, the bench and the chaos run compute and print the same way: duration
 * percentiles, durations as text, results by status, API calls per placed order, rates. One place,
 * so their reports agree on what a figure means.
 */

/** Percentiles of a set of durations, in ms. */
export interface DurationPercentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** How many samples they were taken over. */
  samples: number;
}

/** The nearest-rank `p` quantile (0 < p <= 1) of ascending `sorted`; undefined when empty. */
export function nearestRank(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[index];
}

/**
 * Nearest-rank p50/p95/p99 and the maximum of `values`; null when there are none. Nearest rank (not
 * interpolation) so every figure is a duration that was actually observed.
 */
export function durationPercentiles(values: readonly number[]): DurationPercentiles | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number => nearestRank(sorted, p) ?? 0;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1), samples: sorted.length };
}

/** `value` rounded to `digits` decimals. */
export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A duration for people: `850 ms`, `1.50 s`, `12.3 s`. */
export function formatMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.round(ms)} ms`;
}

/** A duration in seconds with one decimal, for settings and long runs: `1.0 s`, `62.0 s`. */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Every result status, in the order reports list them. */
export const RESULT_STATUSES: readonly ResultStatus[] = ['completed', 'partial', 'failed', 'rejected', 'unresolved'];

/** How many results have each status (every status present, 0 when none). */
export function tallyByStatus(results: Iterable<OrderResult>): Record<ResultStatus, number> {
  const byStatus: Record<ResultStatus, number> = { completed: 0, partial: 0, failed: 0, rejected: 0, unresolved: 0 };
  for (const result of results) byStatus[result.status] += 1;
  return byStatus;
}

/** API calls the sandbox received, per placed order. */
export interface CallsPerOrder {
  token: number;
  balance: number;
  create: number;
  lookup: number;
  total: number;
}

/** The sandbox's call counts divided by the orders it placed (4 decimals); null when none was placed. */
export function callsPerPlacedOrder(calls: SandboxStats['calls'], placedOrders: number): CallsPerOrder | null {
  if (placedOrders === 0) return null;
  const per = (n: number): number => round(n / placedOrders, 4);
  return {
    token: per(calls.token),
    balance: per(calls.balance),
    create: per(calls.create),
    lookup: per(calls.lookup),
    total: per(calls.token + calls.balance + calls.create + calls.lookup),
  };
}

/** `count` things over `ms` as a rate per second, rounded to `digits` decimals (a span under 1 ms counts as 1 ms). */
export function perSecond(count: number, ms: number, digits: number): number {
  return round((count * 1000) / Math.max(1, ms), digits);
}

/** The counts above 0, by name: `[['create.rateLimited', 3], …]`, for fault and code tallies. */
export function nonZeroCounts(counts: Readonly<Record<string, number>>): [string, number][] {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a.localeCompare(b));
}

/** One line of a plain-text report: the label padded to `width`, then the value. */
export function reportRow(label: string, value: string, width: number): string {
  return `  ${label.padEnd(width)}${value}`;
}
