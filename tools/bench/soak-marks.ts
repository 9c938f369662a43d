import { perSecond } from '../figures/run-figures.js';

/**
 * The results a soak samples at: every `every` results, and the last order when `orders` is not a
 * multiple of it. Ascending, never empty for `orders` ≥ 1.
 */
export function soakMarkPoints(orders: number, every: number): number[] {
  const points: number[] = [];
  for (let at = every; at < orders; at += every) points.push(at);
  points.push(orders);
  return points;
}

/**
 * The next mark due once `results` results are in, given `taken` marks sampled already; null when
 * the next one is not reached yet (or every mark is taken). Several marks passed at once (a slow
 * sample) come due one by one: each is sampled, late, rather than skipped.
 */
export function dueMark(points: readonly number[], taken: number, results: number): number | null {
  const next = points[taken];
  return next !== undefined && results >= next ? next : null;
}

/** Results per second between two samples (`results`, `elapsedMs` since the first enqueue), 1 decimal. */
export function windowRate(previous: { results: number; elapsedMs: number }, current: { results: number; elapsedMs: number }): number {
  return perSecond(Math.max(0, current.results - previous.results), current.elapsedMs - previous.elapsedMs, 1);
}

/** Redis `used_memory` growth since the baseline per finished order, whole bytes; null before any finished. */
export function bytesPerFinishedOrder(baselineUsedBytes: number, usedBytes: number, finished: number): number | null {
  return finished <= 0 ? null : Math.round((usedBytes - baselineUsedBytes) / finished);
}
