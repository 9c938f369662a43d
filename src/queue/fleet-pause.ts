import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connect.js';
import type { FleetPauseReason } from '../lifecycle/order-state.js';
import { projectKeys } from '../redis/keys.js';
import { OwnedKey } from '../redis/owned-key.js';

/**
 * The intent workers' BullMQ limiter. BullMQ only honours a manual (429) pause when a limiter is
 * configured; this one is far above any real rate, so it exists only to make `queue.rateLimit()`
 * bite — and a limiter count at its `max` means exactly that: the fleet is paused.
 */
export const FLEET_LIMITER = { max: 1_000_000, duration: 1_000 } as const;

/**
 * How much longer than the pause itself the refused-key mark lives, in ms: once the pause ends, the
 * next job meets the refusal again and renews the mark before it lapses, so readiness does not
 * flicker to ready between two pauses of a key that is still refused.
 */
export const KEY_REFUSED_MARK_GRACE_MS = 10_000;

/** The `order-intents` queue, or those of every partition (QUEUE_PARTITIONS > 1). */
export type IntentQueues = Queue | readonly Queue[];

function each(intents: IntentQueues): readonly Queue[] {
  return 'rateLimit' in intents ? [intents] : intents;
}

/**
 * Pause every worker of the fleet for `ms`: BullMQ's global rate limit on `order-intents`, on every
 * partition's. A refused key is also marked under `<prefix>:vf:` (`prefix`: the global area's; the
 * limiter alone cannot say why it bites), so every process — readiness, the fleet-paused gauge — can tell.
 */
export async function pauseFleet(intents: IntentQueues, redis: RedisClient, prefix: string, ms: number, reason: FleetPauseReason): Promise<void> {
  if (reason === 'key_refused') await new OwnedKey(redis, projectKeys(prefix).keyRefused, ms + KEY_REFUSED_MARK_GRACE_MS).claim();
  await Promise.all(each(intents).map((queue) => queue.rateLimit(ms)));
}

/** Whether the API key was refused lately (the mark {@link pauseFleet} writes has not lapsed). */
export async function keyRefused(redis: RedisClient, prefix: string): Promise<boolean> {
  return (await redis.exists(projectKeys(prefix).keyRefused)) === 1;
}

/** Why the fleet is paused now, if it is: a refused key wins over a plain 429 back-off (both set the limiter). */
export async function readFleetPause(intents: IntentQueues, redis: RedisClient, prefix: string): Promise<FleetPauseReason | null> {
  const [refused, ...limiterTtlsMs] = await Promise.all([keyRefused(redis, prefix), ...each(intents).map((queue) => queue.getRateLimitTtl(FLEET_LIMITER.max))]);
  if (refused) return 'key_refused';
  return limiterTtlsMs.some((ttlMs) => ttlMs > 0) ? 'rate_limited' : null;
}
