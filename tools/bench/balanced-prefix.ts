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
 * The fleet-wide area's share of one order's Redis work, in partition units per partition count:
 * measured in bench/results/cluster-5000 (K = 6), its primary carried ~10 of ~120 commands per order
 * beyond its partitions, i.e. the global area weighs ~0.09·K partitions.
 */
const GLOBAL_WEIGHT_PER_PARTITION = 0.09;

/**
 * A QUEUE_PREFIX `<label>-<suffix>` whose Redis work lands as evenly as it can on the primaries of a
 * freshly created cluster: each primary's load is its partitions plus, for the one holding the
 * fleet-wide area, that area's weight (~0.09·K partitions), and the prefix with the smallest largest
 * deviation from the mean wins. Hash slots follow the prefix, so a random prefix can put 3 of 6
 * partitions on one primary and 1 on another. In production the same evenness comes from moving
 * slots (`redis-cli --cluster rebalance` or CLUSTER SETSLOT; give the fleet-wide slot's primary
 * fewer partitions); the bench picks the prefix instead. Tries `tries` suffixes from `suffix()`.
 */
export function balancedClusterPrefix(label: string, partitions: number, primaries: number, suffix: () => string, tries = 10_000): string {
  const globalWeight = GLOBAL_WEIGHT_PER_PARTITION * partitions;
  let best = { prefix: `${label}-${suffix()}`, score: Number.POSITIVE_INFINITY };
  for (let i = 0; i < tries; i++) {
    const prefix = `${label}-${suffix()}`;
    const { partitions: counts, globalOn } = partitionsPerPrimary(prefix, partitions, primaries);
    const loads = counts.map((count, node) => count + (node === globalOn ? globalWeight : 0));
    const mean = loads.reduce((sum, load) => sum + load, 0) / loads.length;
    const score = Math.max(...loads.map((load) => Math.abs(load - mean) / mean));
    if (score < best.score) best = { prefix, score };
  }
  return best.prefix;
}
