import { seededRandom, streamSeed } from '../../src/sandbox/seeded-random.js';

/**
 * Arrival times of a Poisson process of `ratePerSecond` over `durationMs`, as offsets in ms from its
 * start, ascending, every one in [0, durationMs). The gaps are exponential with mean 1000 / rate ms,
 * drawn from a PRNG seeded by `seed`, so the same (rate, duration, seed) gives the same schedule.
 * The count is itself random (Poisson with mean rate × duration), as real arrivals are.
 */
export function poissonArrivals(ratePerSecond: number, durationMs: number, seed: number): number[] {
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`rate must be a positive number (got ${ratePerSecond})`);
  if (!(durationMs > 0) || !Number.isFinite(durationMs)) throw new RangeError(`duration must be a positive number of ms (got ${durationMs})`);
  // One stream per rate: a sweep's rates do not share their draws.
  const random = seededRandom(streamSeed(seed, `arrivals-${ratePerSecond}`));
  const meanGapMs = 1000 / ratePerSecond;
  const arrivals: number[] = [];
  let at = 0;
  for (;;) {
    // 1 − u lies in (0, 1], so the log is finite.
    at += -Math.log(1 - random.next()) * meanGapMs;
    if (at >= durationMs) return arrivals;
    arrivals.push(at);
  }
}

/**
 * How many of the ascending `arrivals` are due at `elapsedMs`, from index `from` on: the index just
 * past the last one whose time has come. The open-loop clock enqueues `arrivals[from .. returned)`.
 */
export function dueUpTo(arrivals: readonly number[], from: number, elapsedMs: number): number {
  let i = from;
  while (i < arrivals.length && (arrivals[i] ?? Infinity) <= elapsedMs) i += 1;
  return i;
}
