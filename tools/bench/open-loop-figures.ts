import { durationPercentiles, perSecond, round, type DurationPercentiles } from '../figures/run-figures.js';

/*
 * The open-loop bench's figures, pure: latency percentiles per rate from each order's timings,
 * whether a rate was sustained, whether it met the target, and the sweep's verdict.
 */

/** Issue #11's targets, in ms. */
export const OPEN_LOOP_TARGETS = {
  /** p99 of sandbox settle → result. */
  settleToResultP99Ms: 50,
  /** p99 of enqueue → result minus the order's fulfilment time. */
  enqueueToResultMinusFulfilmentP99Ms: 100,
} as const;

/** A sustained rate has at most this share of its arrivals without a result `drainLimitMs` after its window closed. */
export const LATE_SHARE_LIMIT = 0.01;

/** A sustained rate's results keep up with its arrivals at least this well (results/s ÷ arrivals/s over the measured window). */
export const SUSTAINED_RATIO = 0.95;

/** The clock of one order, epoch ms; null where it never happened. */
export interface OrderTiming {
  /** When the Poisson schedule said the intent arrives (latency counts from here, not from the enqueue call). */
  scheduledAtMs: number;
  /** The result job's `timestamp` (when the worker added it to order-results). */
  resultAtMs: number | null;
  /** The sandbox created the order. */
  createdAtMs: number | null;
  /** The sandbox settled the order (`settledAtMs`). */
  settledAtMs: number | null;
}

/** The arrival window of one rate, epoch ms. */
export interface ArrivalWindow {
  /** Time 0 of the schedule. */
  startAtMs: number;
  /** Length of the window, in ms: every arrival is scheduled in [startAtMs, startAtMs + durationMs). */
  durationMs: number;
  /** Arrivals scheduled before startAtMs + warmUpMs are left out of the percentiles and the kept-up check. */
  warmUpMs: number;
  /**
   * How long after the window closed results may still come, in ms: a sustained rate has at most 1 %
   * of its results later than this (a longer drain means a backlog built up; a straggler or two, e.g.
   * one finished by the safety-net poll, does not).
   */
  drainLimitMs: number;
  /**
   * Most the median enqueue → result − fulfilment may grow from the first to the last quarter of the
   * measured arrivals for the rate to count as sustained, in ms (a growing queue grows it).
   */
  growthLimitMs: number;
}

/** Latency of one rate, in ms, over the arrivals after the warm-up. */
export interface RateLatency {
  /** Scheduled arrival → result job timestamp. */
  enqueueToResultMs: DurationPercentiles | null;
  /** The same minus the order's fulfilment (sandbox settledAtMs − created): what the pipeline added. */
  enqueueToResultMinusFulfilmentMs: DurationPercentiles | null;
  /** Sandbox settledAtMs → result job timestamp. */
  settleToResultMs: DurationPercentiles | null;
  /** Sandbox settledAtMs − created: the fulfilment time the sandbox drew. */
  fulfilmentMs: DurationPercentiles | null;
}

/** How much load one rate carried. Rates in intents (or results) per second. */
export interface RateThroughput {
  /** The rate asked for. */
  offeredPerSecond: number;
  /** Arrivals the Poisson schedule drew ÷ the window (offered ± the process's own noise). */
  scheduledPerSecond: number;
  /** Intents added to Redis by the end of the window ÷ the window. */
  enqueuedPerSecond: number;
  /** Results ÷ (first scheduled arrival → last result). */
  achievedPerSecond: number;
  /** Over the measured window (warm-up end → window end): results that came in ÷ arrivals scheduled. */
  keptUpRatio: number;
  /** Arrivals without a result when the window closed. */
  backlogAtEnd: number;
  /** Window end → the last result, in ms (0 when it came inside the window); null when some result is missing. */
  drainMs: number | null;
  /** Arrivals whose result came more than `drainLimitMs` after the window closed, or never. */
  lateResults: number;
  /**
   * Median enqueue → result − fulfilment of the last quarter of the measured arrivals minus that of
   * the first quarter, in ms; null with fewer than 40 measured orders.
   */
  latencyGrowthMs: number | null;
  /**
   * Results kept up (`keptUpRatio` ≥ 0.95), every intent got its result, at most 1 % of them came
   * later than `drainLimitMs` after the window closed, and the latency did not grow by more than `growthLimitMs`.
   */
  sustained: boolean;
}

/** Fewest measured orders for {@link RateThroughput.latencyGrowthMs}: 10 per quarter. */
const MIN_TREND_ORDERS = 40;

/** Median of the last quarter's latencies minus the first quarter's, by scheduled time; null when too few. */
function growthOf(trend: [number, number][]): number | null {
  if (trend.length < MIN_TREND_ORDERS) return null;
  const sorted = [...trend].sort((a, b) => a[0] - b[0]);
  const quarter = Math.floor(sorted.length / 4);
  const median = (part: [number, number][]): number => durationPercentiles(part.map(([, v]) => v))?.p50 ?? 0;
  return median(sorted.slice(-quarter)) - median(sorted.slice(0, quarter));
}

/** Latency and throughput of one rate from its orders' timings. */
export function rateFigures(
  timings: readonly OrderTiming[],
  window: ArrivalWindow,
  offeredPerSecond: number,
  enqueuedByEnd: number,
): { latency: RateLatency; throughput: RateThroughput } {
  const endAtMs = window.startAtMs + window.durationMs;
  const measuredFromMs = window.startAtMs + window.warmUpMs;
  const e2r: number[] = [];
  const e2rMinusFulfilment: number[] = [];
  /** [scheduled, enqueue → result − fulfilment (or raw when the order has no sandbox times)] of each measured order. */
  const trend: [number, number][] = [];
  const s2r: number[] = [];
  const fulfilment: number[] = [];
  let firstArrival = Infinity;
  let lastResult = -Infinity;
  let missing = 0;
  let backlogAtEnd = 0;
  let lateResults = 0;
  let measuredArrivals = 0;
  let measuredResults = 0;
  for (const t of timings) {
    firstArrival = Math.min(firstArrival, t.scheduledAtMs);
    if (t.resultAtMs === null) missing += 1;
    else lastResult = Math.max(lastResult, t.resultAtMs);
    if (t.resultAtMs === null || t.resultAtMs > endAtMs) backlogAtEnd += 1;
    if (t.resultAtMs === null || t.resultAtMs > endAtMs + window.drainLimitMs) lateResults += 1;
    if (t.scheduledAtMs >= measuredFromMs && t.scheduledAtMs < endAtMs) measuredArrivals += 1;
    if (t.resultAtMs !== null && t.resultAtMs >= measuredFromMs && t.resultAtMs <= endAtMs) measuredResults += 1;
    if (t.scheduledAtMs < measuredFromMs || t.resultAtMs === null) continue;
    const total = t.resultAtMs - t.scheduledAtMs;
    e2r.push(total);
    let pipeline = total;
    if (t.settledAtMs !== null) {
      s2r.push(t.resultAtMs - t.settledAtMs);
      if (t.createdAtMs !== null) {
        const f = t.settledAtMs - t.createdAtMs;
        fulfilment.push(f);
        pipeline = total - f;
        e2rMinusFulfilment.push(pipeline);
      }
    }
    trend.push([t.scheduledAtMs, pipeline]);
  }
  const results = timings.length - missing;
  const windowS = window.durationMs / 1000;
  const drainMs = missing > 0 || results === 0 ? null : Math.max(0, lastResult - endAtMs);
  const keptUpRatio = measuredArrivals === 0 ? 0 : round(measuredResults / measuredArrivals, 3);
  const latencyGrowthMs = growthOf(trend);
  const sustained =
    results > 0 &&
    missing === 0 &&
    lateResults <= LATE_SHARE_LIMIT * timings.length &&
    keptUpRatio >= SUSTAINED_RATIO &&
    (latencyGrowthMs === null || latencyGrowthMs <= window.growthLimitMs);
  return {
    latency: {
      enqueueToResultMs: durationPercentiles(e2r),
      enqueueToResultMinusFulfilmentMs: durationPercentiles(e2rMinusFulfilment),
      settleToResultMs: durationPercentiles(s2r),
      fulfilmentMs: durationPercentiles(fulfilment),
    },
    throughput: {
      offeredPerSecond: offeredPerSecond,
      scheduledPerSecond: round(timings.length / windowS, 1),
      enqueuedPerSecond: round(enqueuedByEnd / windowS, 1),
      achievedPerSecond: results === 0 ? 0 : perSecond(results, lastResult - firstArrival, 1),
      keptUpRatio,
      backlogAtEnd,
      drainMs,
      lateResults,
      latencyGrowthMs,
      sustained,
    },
  };
}

/** What the verdict needs of one rate. */
export interface RateOutcome {
  offeredPerSecond: number;
  sustained: boolean;
  /** Every result correct. */
  correct: boolean;
  settleToResultP99Ms: number | null;
  enqueueToResultP99Ms: number | null;
  enqueueToResultMinusFulfilmentP99Ms: number | null;
}

/** A sustained, correct rate whose p99s are both within {@link OPEN_LOOP_TARGETS}. */
export function withinTarget(r: RateOutcome): boolean {
  return (
    r.sustained &&
    r.correct &&
    r.settleToResultP99Ms !== null &&
    r.settleToResultP99Ms <= OPEN_LOOP_TARGETS.settleToResultP99Ms &&
    r.enqueueToResultMinusFulfilmentP99Ms !== null &&
    r.enqueueToResultMinusFulfilmentP99Ms <= OPEN_LOOP_TARGETS.enqueueToResultMinusFulfilmentP99Ms
  );
}

/** Issue #11's target, judged at half the highest sustained rate. */
export interface HalfMaxVerdict {
  /** Half the highest sustained rate, in intents/s. */
  halfOfMaxPerSecond: number;
  /** The highest measured rate at or below it; null when the sweep measured none. */
  measuredPerSecond: number | null;
  settleToResultP99Ms: number | null;
  enqueueToResultP99Ms: number | null;
  enqueueToResultMinusFulfilmentP99Ms: number | null;
  /** Both p99s within target at that rate; null when no rate was measured there. */
  met: boolean | null;
}

/** The sweep's answer. */
export interface SweepSummary {
  /** Highest offered rate that was sustained with correct results; null when none was. */
  maxSustainedPerSecond: number | null;
  /** Highest offered rate {@link withinTarget}; null when none was. */
  maxWithinTargetPerSecond: number | null;
  /** Null when no rate was sustained. */
  halfMax: HalfMaxVerdict | null;
}

/** The highest sustained rate, the highest within target, and the verdict at half the highest sustained. */
export function sweepSummary(rates: readonly RateOutcome[]): SweepSummary {
  const highest = (list: readonly RateOutcome[]): RateOutcome | null =>
    list.reduce<RateOutcome | null>((best, r) => (best === null || r.offeredPerSecond > best.offeredPerSecond ? r : best), null);
  const maxSustained = highest(rates.filter((r) => r.sustained && r.correct));
  const maxWithin = highest(rates.filter(withinTarget));
  if (maxSustained === null) return { maxSustainedPerSecond: null, maxWithinTargetPerSecond: maxWithin?.offeredPerSecond ?? null, halfMax: null };
  const half = maxSustained.offeredPerSecond / 2;
  const at = highest(rates.filter((r) => r.offeredPerSecond <= half));
  const met =
    at === null
      ? null
      : at.correct &&
        at.settleToResultP99Ms !== null &&
        at.settleToResultP99Ms <= OPEN_LOOP_TARGETS.settleToResultP99Ms &&
        at.enqueueToResultMinusFulfilmentP99Ms !== null &&
        at.enqueueToResultMinusFulfilmentP99Ms <= OPEN_LOOP_TARGETS.enqueueToResultMinusFulfilmentP99Ms;
  return {
    maxSustainedPerSecond: maxSustained.offeredPerSecond,
    maxWithinTargetPerSecond: maxWithin?.offeredPerSecond ?? null,
    halfMax: {
      halfOfMaxPerSecond: round(half, 1),
      measuredPerSecond: at?.offeredPerSecond ?? null,
      settleToResultP99Ms: at?.settleToResultP99Ms ?? null,
      enqueueToResultP99Ms: at?.enqueueToResultP99Ms ?? null,
      enqueueToResultMinusFulfilmentP99Ms: at?.enqueueToResultMinusFulfilmentP99Ms ?? null,
      met,
    },
  };
}
