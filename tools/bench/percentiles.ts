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
