import { round } from '../figures/run-figures.js';
import type { SoakMark } from './soak-report.js';

/** How far a worker's RSS may move between the reference mark and the last one and still be flat: ±10 % (issue #11). */
export const SOAK_RSS_TOLERANCE = 0.1;

/**
 * The reference mark is the first at or past this share of the orders (20k of 100k): before it the
 * processes are still warming up (JIT, connection pools, V8 sizing its heap to the load).
 */
export const SOAK_WARMUP_FRACTION = 0.2;

/** One process's RSS between the reference mark and the last. */
export interface RssChange {
  process: string;
  /** RSS at the reference mark, bytes (null when unreadable). */
  fromBytes: number | null;
  /** RSS at the last mark, bytes. */
  toBytes: number | null;
  /** (to − from) ÷ from, e.g. 0.04 = +4 %; null when either is unreadable. */
  change: number | null;
  /** Within ±tolerance; null when unknown. */
  flat: boolean | null;
}

/** Whether the workers' RSS stayed flat over the run. */
export interface SoakVerdict {
  /** Results at the reference mark, or null when the run had too few marks for a verdict. */
  fromMark: number | null;
  /** Results at the last mark, or null (see fromMark). */
  toMark: number | null;
  /** The tolerance judged against, as a fraction. */
  tolerance: number;
  /** Every worker, judged. */
  workers: RssChange[];
  /** The receiver and the bench process: shown, not judged. */
  others: RssChange[];
  /** Every worker flat; null without a verdict or with an unreadable RSS. */
  flat: boolean | null;
  /** Why there is no verdict, or null. */
  reason: string | null;
}

/**
 * Index (into the marks after the baseline) of the reference mark: the first at or past
 * {@link SOAK_WARMUP_FRACTION} of `orders`, never the first mark (warm-up). Null when that is the
 * last mark or there is none: nothing later to compare with.
 */
export function referenceMarkIndex(marks: readonly number[], orders: number): number | null {
  const at = marks.findIndex((mark, i) => i >= 1 && mark >= SOAK_WARMUP_FRACTION * orders);
  return at < 0 || at >= marks.length - 1 ? null : at;
}

function change(process: string, from: number | null, to: number | null, tolerance: number): RssChange {
  if (from === null || to === null || from <= 0) return { process, fromBytes: from, toBytes: to, change: null, flat: null };
  const fraction = (to - from) / from;
  return { process, fromBytes: from, toBytes: to, change: round(fraction, 4), flat: Math.abs(fraction) <= tolerance };
}

/** Judge the workers' RSS over `marks` (the baseline, mark 0, is skipped) of a run of `orders` orders. */
export function soakVerdict(marks: readonly SoakMark[], orders: number, tolerance = SOAK_RSS_TOLERANCE): SoakVerdict {
  const taken = marks.filter((m) => m.mark > 0);
  const index = referenceMarkIndex(
    taken.map((m) => m.mark),
    orders,
  );
  const from = index === null ? undefined : taken[index];
  const to = taken[taken.length - 1];
  if (from === undefined || to === undefined) {
    return { fromMark: null, toMark: null, tolerance, workers: [], others: [], flat: null, reason: `${taken.length} mark(s) taken` };
  }
  const rssAt = (mark: SoakMark, name: string): number | null => mark.processes.find((p) => p.process === name)?.rssBytes ?? null;
  const changes = from.processes.map((p) => ({ role: p.role, change: change(p.process, p.rssBytes, rssAt(to, p.process), tolerance) }));
  const workers = changes.filter((c) => c.role === 'worker').map((c) => c.change);
  const others = changes.filter((c) => c.role !== 'worker').map((c) => c.change);
  const flat = workers.length === 0 || workers.some((w) => w.flat === null) ? null : workers.every((w) => w.flat === true);
  return { fromMark: from.results, toMark: to.results, tolerance, workers, others, flat, reason: null };
}
