import { describe, expect, it } from 'vitest';
import { rateFigures, sweepSummary, withinTarget, type ArrivalWindow, type OrderTiming, type RateOutcome } from '../../../tools/bench/open-loop-figures.js';

const START = 1_000_000;
const window: ArrivalWindow = { startAtMs: START, durationMs: 10_000, warmUpMs: 2_000, drainLimitMs: 2_000, growthLimitMs: 100 };

/** An order scheduled `at` ms into the window, settled `settle` ms later after `fulfil` ms of fulfilment, its result `toResult` ms after settling. */
function order(at: number, fulfil: number, settle: number, toResult: number): OrderTiming {
  const scheduledAtMs = START + at;
  const createdAtMs = scheduledAtMs + settle - fulfil;
  const settledAtMs = scheduledAtMs + settle;
  return { scheduledAtMs, createdAtMs, settledAtMs, resultAtMs: settledAtMs + toResult };
}

function outcome(rate: number, overrides: Partial<RateOutcome> = {}): RateOutcome {
  return {
    offeredPerSecond: rate,
    sustained: true,
    correct: true,
    settleToResultP99Ms: 10,
    enqueueToResultP99Ms: 40,
    enqueueToResultMinusFulfilmentP99Ms: 40,
    ...overrides,
  };
}

describe('rateFigures', () => {
  // One arrival every 10 ms over 10 s: 1000 arrivals, 800 after the warm-up.
  const steady = Array.from({ length: 1_000 }, (_, i) => order(i * 10, 300, 320, i % 100 === 0 ? 90 : 5));

  it('takes the percentiles over the arrivals after the warm-up, from the scheduled time', () => {
    const { latency } = rateFigures(steady, window, 100, 1_000);
    expect(latency.enqueueToResultMs).toEqual({ p50: 325, p95: 325, p99: 325, max: 410, samples: 800 });
    expect(latency.enqueueToResultMinusFulfilmentMs).toEqual({ p50: 25, p95: 25, p99: 25, max: 110, samples: 800 });
    expect(latency.settleToResultMs).toEqual({ p50: 5, p95: 5, p99: 5, max: 90, samples: 800 });
    expect(latency.fulfilmentMs?.p50).toBe(300);
  });

  it('counts a warm-up order in nothing but the rates', () => {
    const slowWarmUp = [order(0, 0, 0, 5_000), ...steady.slice(1)];
    expect(rateFigures(slowWarmUp, window, 100, 1_000).latency.enqueueToResultMs?.max).toBe(410);
  });

  it('calls a rate sustained when results keep up and drain quickly, with its rates', () => {
    const { throughput } = rateFigures(steady, window, 100, 990);
    expect(throughput).toMatchObject({ offeredPerSecond: 100, scheduledPerSecond: 100, enqueuedPerSecond: 99, latencyGrowthMs: 0, sustained: true });
    // In flight when the window closed: the arrivals of its last 325 ms (9 680 … 9 990 ms).
    expect(throughput.backlogAtEnd).toBe(32);
    // The last arrival (9 990 ms) gets its result 325 ms later: 315 ms after the window closed.
    expect(throughput.drainMs).toBe(315);
    expect(throughput.lateResults).toBe(0);
    expect(throughput.achievedPerSecond).toBeCloseTo(1_000 / 10.315, 1);
  });

  it('does not call a rate sustained when a backlog builds (results fall behind, the drain is long)', () => {
    // Each order waits 3 ms longer than the one before: the queue grows to 3 s by the end.
    const behind = Array.from({ length: 1_000 }, (_, i) => order(i * 10, 0, 0, i * 3));
    const { throughput } = rateFigures(behind, window, 100, 1_000);
    expect(throughput.sustained).toBe(false);
    expect(throughput.drainMs).toBeGreaterThan(2_000);
    expect(throughput.backlogAtEnd).toBeGreaterThan(200);
    // Arrivals after 9 230 ms get their result past window end + 2 s: 76 of 1000.
    expect(throughput.lateResults).toBe(76);
  });

  it('still calls a rate sustained when one straggler (a safety-net poll) comes seconds late', () => {
    const straggler = [...steady.slice(0, 500), order(5_000, 300, 320, 5_000), ...steady.slice(501)];
    const { throughput, latency } = rateFigures(straggler, window, 100, 1_000);
    // Its result (5 000 + 320 + 5 000 ms) is the last one, yet all but it came in time.
    expect(throughput).toMatchObject({ drainMs: 320, lateResults: 0, sustained: true });
    expect(latency.settleToResultMs?.max).toBe(5_000);
    const late = [...steady.slice(0, -1), order(9_990, 300, 320, 5_000)];
    expect(rateFigures(late, window, 100, 1_000).throughput).toMatchObject({ drainMs: 5_310, lateResults: 1, sustained: true });
  });

  it('does not call a rate sustained when its latency keeps growing, even if it drains in time', () => {
    // Each order waits 0.3 ms longer than the one before: 60–300 ms over the measured window.
    const creeping = Array.from({ length: 1_000 }, (_, i) => order(i * 10, 0, 0, Math.round(i * 0.3)));
    const { throughput } = rateFigures(creeping, window, 100, 1_000);
    expect(throughput.drainMs).toBeLessThan(2_000);
    expect(throughput.keptUpRatio).toBeGreaterThan(0.95);
    expect(throughput.latencyGrowthMs).toBe(180);
    expect(throughput.sustained).toBe(false);
    expect(rateFigures(creeping, { ...window, growthLimitMs: 200 }, 100, 1_000).throughput.sustained).toBe(true);
  });

  it('does not judge the growth over fewer than 40 measured orders', () => {
    const few = Array.from({ length: 45 }, (_, i) => order(i * 220, 0, 0, i * 10));
    expect(rateFigures(few, window, 4.5, 45).throughput.latencyGrowthMs).toBeNull();
  });

  it('does not call a rate sustained when a result is missing', () => {
    const missing = [...steady.slice(0, -1), { ...order(9_990, 0, 0, 0), resultAtMs: null }];
    const { throughput } = rateFigures(missing, window, 100, 1_000);
    expect(throughput.drainMs).toBeNull();
    expect(throughput.sustained).toBe(false);
  });
});

describe('withinTarget', () => {
  it('needs a sustained, correct rate with settle → result p99 ≤ 50 ms and enqueue → result − fulfilment p99 ≤ 100 ms', () => {
    expect(withinTarget(outcome(100, { settleToResultP99Ms: 50, enqueueToResultMinusFulfilmentP99Ms: 100, enqueueToResultP99Ms: 1_500 }))).toBe(true);
    expect(withinTarget(outcome(100, { settleToResultP99Ms: 51 }))).toBe(false);
    expect(withinTarget(outcome(100, { enqueueToResultMinusFulfilmentP99Ms: 101 }))).toBe(false);
    expect(withinTarget(outcome(100, { sustained: false }))).toBe(false);
    expect(withinTarget(outcome(100, { correct: false }))).toBe(false);
    expect(withinTarget(outcome(100, { settleToResultP99Ms: null }))).toBe(false);
  });
});

describe('sweepSummary', () => {
  it('names the highest sustained rate, the highest within target, and judges the nearest measured rate at or below half the maximum', () => {
    const summary = sweepSummary([
      outcome(100),
      outcome(200, { settleToResultP99Ms: 30 }),
      outcome(300, { settleToResultP99Ms: 45 }),
      outcome(400, { settleToResultP99Ms: 80, enqueueToResultMinusFulfilmentP99Ms: 300, enqueueToResultP99Ms: 300 }),
      outcome(500, { sustained: false, settleToResultP99Ms: 2_000 }),
    ]);
    expect(summary).toEqual({
      maxSustainedPerSecond: 400,
      maxWithinTargetPerSecond: 300,
      halfMax: {
        halfOfMaxPerSecond: 200,
        measuredPerSecond: 200,
        settleToResultP99Ms: 30,
        enqueueToResultP99Ms: 40,
        enqueueToResultMinusFulfilmentP99Ms: 40,
        met: true,
      },
    });
  });

  it('takes the measured rate below half when none sits exactly on it, and says missed when its p99 is over', () => {
    const summary = sweepSummary([outcome(100, { settleToResultP99Ms: 70 }), outcome(300), outcome(700)]);
    expect(summary.halfMax).toMatchObject({ halfOfMaxPerSecond: 350, measuredPerSecond: 300, met: true });
    const slow = sweepSummary([outcome(100, { settleToResultP99Ms: 70 }), outcome(250), outcome(400)]);
    expect(slow.halfMax).toMatchObject({ halfOfMaxPerSecond: 200, measuredPerSecond: 100, settleToResultP99Ms: 70, met: false });
  });

  it('leaves the verdict open when no rate sits at or below half, and has none when nothing was sustained', () => {
    expect(sweepSummary([outcome(300)]).halfMax).toMatchObject({ halfOfMaxPerSecond: 150, measuredPerSecond: null, met: null });
    // A rate with wrong results does not count as sustained.
    expect(sweepSummary([outcome(100, { sustained: false }), outcome(200, { correct: false })])).toEqual({
      maxSustainedPerSecond: null,
      maxWithinTargetPerSecond: null,
      halfMax: null,
    });
  });
});
