import { crc32 } from 'node:zlib';
import { projectKeys, type ProjectKeys } from './keys.js';

/**
 * The partition layout (QUEUE_PARTITIONS): where each order's queues and keys live, and where the
 * fleet-wide keys live. The one place that turns QUEUE_PREFIX and a partition count into key prefixes.
 *
 * - K = 1 (the default): one area whose prefix is QUEUE_PREFIX itself, so every key name is exactly
 *   what every release so far has written (test/unit/redis-keys.test.ts).
 * - K > 1: partition p (0 ≤ p < K) is the area `{<QUEUE_PREFIX>-<p>}`: its `order-intents` and
 *   `order-results` queues and, under `{…}:vf:`, the records, tombstones, stored events, unmatched
 *   index, conflicting-event list and funds-waiting set of the orders routed to it. The fleet-wide keys
 *   (balance gate, spend log, token and its lock, webhook heartbeat, refused-key mark, events without a
 *   merchant_order_id) live in the area `{<QUEUE_PREFIX>-global}`. The braces are a Redis Cluster hash
 *   tag: every key of one area hashes to one slot, so each script touches one slot.
 *
 * The names are stored data and a public contract (producers route with {@link partitionOf}).
 */

/** One area of the layout: a BullMQ prefix and the project's keys under it. */
export interface PartitionArea {
  /** BullMQ `prefix` of this area's queues, and the prefix of its project keys (`<prefix>:vf:`). */
  readonly prefix: string;
  /** The project's keys under {@link prefix}. Only the ones this area owns are meaningful (see the layout). */
  readonly keys: ProjectKeys;
}

/** One partition: an area owning the queues and per-order keys of the orders routed to it. */
export interface Partition extends PartitionArea {
  /** Partition number, 0 ≤ index < count. */
  readonly index: number;
}

/** The whole layout for one QUEUE_PREFIX and QUEUE_PARTITIONS. */
export interface PartitionLayout {
  /** Number of partitions (QUEUE_PARTITIONS). */
  readonly count: number;
  /** Every partition, by index. */
  readonly partitions: readonly Partition[];
  /** The area of the fleet-wide keys (with K = 1, the same prefix as the only partition). */
  readonly global: PartitionArea;
  /** The partition an order belongs to. */
  forOrder(merchantOrderId: string): Partition;
}

/**
 * The partition of `merchantOrderId` among `count`: `crc32(utf8(merchant_order_id)) mod count`, the
 * CRC-32 of zlib (Node's `zlib.crc32`, Python's `binascii.crc32`); `crc32("hx-1") = 4106249165`.
 * Every producer must route this way, or one id could be enqueued in two partitions and yield two orders.
 */
export function partitionOf(merchantOrderId: string, count: number): number {
  return count <= 1 ? 0 : crc32(Buffer.from(merchantOrderId, 'utf8')) % count;
}

/**
 * The layout of `queuePrefix` (QUEUE_PREFIX, never containing braces) with `count` partitions
 * (QUEUE_PARTITIONS). `hashTags` forces the hash-tagged areas with one
 * partition too: a Redis Cluster needs them whatever the count (REDIS_CLUSTER_NODES sets it).
 */
export function partitionLayout(queuePrefix: string, count = 1, hashTags = false): PartitionLayout {
  const tagged = hashTags || count > 1;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`partition count must be a whole number ≥ 1, got ${count}`);
  const area = (prefix: string): PartitionArea => ({ prefix, keys: projectKeys(prefix) });
  const partitions: Partition[] =
    !tagged ? [{ index: 0, ...area(queuePrefix) }] : Array.from({ length: count }, (_, index) => ({ index, ...area(`{${queuePrefix}-${index}}`) }));
  const global = !tagged ? area(queuePrefix) : area(`{${queuePrefix}-global}`);
  return {
    count,
    partitions,
    global,
    forOrder: (merchantOrderId) => partitions[partitionOf(merchantOrderId, count)] as Partition,
  };
}
