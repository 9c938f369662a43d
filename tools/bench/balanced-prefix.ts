import { createRequire } from 'node:module';
import { partitionLayout } from '../../src/redis/partitions.js';

/** Redis Cluster's key → hash slot (CRC16 of the hash tag), as ioredis computes it. */
const slotOf = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

const SLOTS = 16_384;

/**
 * The slot ranges `redis-cli --cluster create` gives `primaries` primaries (its own rounding):
 * range i is [first, last] of primary i.
 */
export function createdSlotRanges(primaries: number): [number, number][] {
  const perNode = SLOTS / primaries;
  const ranges: [number, number][] = [];
  let first = 0;
  let cursor = 0;
  for (let i = 0; i < primaries; i++) {
    let last = Math.round(cursor + perNode - 1);
    if (last > SLOTS - 1 || i === primaries - 1) last = SLOTS - 1;
    if (last < first) last = first;
    ranges.push([first, last]);
    first = last + 1;
    cursor += perNode;
  }
  return ranges;
}

/** How many of `prefix`'s partitions (and whether its global area) fall in each primary's slot range. */
export function partitionsPerPrimary(prefix: string, partitions: number, primaries: number): { partitions: number[]; globalOn: number } {
  const ranges = createdSlotRanges(primaries);
  const rangeOf = (key: string): number => {
    const slot = slotOf(key);
    return ranges.findIndex(([first, last]) => slot >= first && slot <= last);
  };
  const layout = partitionLayout(prefix, partitions, true);
  const counts = ranges.map(() => 0);
  for (const p of layout.partitions) counts[rangeOf(p.keys.order('x'))] = (counts[rangeOf(p.keys.order('x'))] ?? 0) + 1;
  return { partitions: counts, globalOn: rangeOf(layout.global.keys.order('x')) };
}

/**
 * A QUEUE_PREFIX `<label>-<suffix>` whose partitions land as evenly as they can on the primaries of
 * a freshly created cluster (counts differ by at most one), the fleet-wide area on a primary with
 * the fewest: hash slots follow the prefix, so a random prefix can put 3 of 6 partitions on one
 * primary and 1 on another. In production the same evenness comes from moving slots
 * (`redis-cli --cluster rebalance` or CLUSTER SETSLOT); the bench picks the prefix instead. Tries
 * `tries` suffixes from `suffix()`, returns the best seen.
 */
export function balancedClusterPrefix(label: string, partitions: number, primaries: number, suffix: () => string, tries = 10_000): string {
  let best = { prefix: `${label}-${suffix()}`, score: Number.POSITIVE_INFINITY };
  for (let i = 0; i < tries; i++) {
    const prefix = `${label}-${suffix()}`;
    const { partitions: counts, globalOn } = partitionsPerPrimary(prefix, partitions, primaries);
    const min = Math.min(...counts);
    const score = (Math.max(...counts) - min) * 2 + ((counts[globalOn] ?? 0) > min ? 1 : 0);
    if (score < best.score) best = { prefix, score };
    if (score <= 1 && (partitions % primaries === 0 || score === 0)) break;
  }
  return best.prefix;
}
