import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '../redis/connect.js';
import type { Logger } from '../logging/logger.js';
import { projectKeys } from '../redis/keys.js';
import { OwnedKey } from '../redis/owned-key.js';

/** Default lifetime of one heartbeat, in ms. */
export const DEFAULT_WEBHOOK_HEARTBEAT_TTL_MS = 10_000;

// Bounds the final DEL on close: with Redis unreachable it would otherwise wait forever, and the
// key expires by itself within ttlMs anyway.
const STOP_DEADLINE_MS = 2_000;

/** Options of {@link startWebhookHeartbeat}. */
export interface WebhookHeartbeatOptions {
  /** Connection the beats are written on. Not owned: the caller closes it. */
  redis: RedisClient;
  /** Prefix of the fleet-wide keys: QUEUE_PREFIX, or with QUEUE_PARTITIONS > 1 the global area's (`partitionLayout(…).global.prefix`). */
  prefix: string;
  /** Lifetime of one beat, in ms; a beat is written every ttlMs/3. Default 10 000. */
  ttlMs?: number;
  /** Where failed beats are reported (at warn). */
  logger?: Logger;
}

/** A running heartbeat. */
export interface WebhookHeartbeat {
  /** Whether the last beat was written (the receiver's event store, Redis, takes writes). */
  writable(): boolean;
  /** Stop beating and delete the key (when it still holds this receiver's beat). Never throws. */
  stop(): Promise<void>;
}

/**
 * Keep `projectKeys(prefix).webhookAlive` set (PX ttlMs) while the receiver runs; workers read it to
 * decide how soon to poll. Resolves after the first beat was attempted, so a started receiver is
 * visible at once. A failed beat is logged, not thrown: the heartbeat only lets workers poll less
 * often, and an expired key merely makes them poll sooner.
 */
export async function startWebhookHeartbeat(options: WebhookHeartbeatOptions): Promise<WebhookHeartbeat> {
  const ttlMs = options.ttlMs ?? DEFAULT_WEBHOOK_HEARTBEAT_TTL_MS;
  if (!Number.isInteger(ttlMs) || ttlMs < 3) throw new RangeError('heartbeat ttlMs must be a whole number of ms, at least 3');
  // Each beat takes the key whoever wrote the last one; its token identifies this receiver's beats
  // so that stop() leaves another receiver's beat alone.
  const alive = new OwnedKey(options.redis, projectKeys(options.prefix).webhookAlive, ttlMs);
  let inFlight: Promise<void> | null = null;
  let stopped = false;
  let lastBeatWritten = false;

  const beat = (): Promise<void> => {
    // A beat still waiting on a slow Redis makes the next one pointless.
    if (inFlight !== null || stopped) return inFlight ?? Promise.resolve();
    const current = alive
      .claim()
      .then(
        () => {
          lastBeatWritten = true;
        },
        (err: unknown) => {
          lastBeatWritten = false;
          options.logger?.warn({ err }, 'webhook heartbeat not written');
        },
      )
      .finally(() => {
        inFlight = null;
      });
    inFlight = current;
    return current;
  };

  await beat();
  const timer = setInterval(() => void beat(), Math.floor(ttlMs / 3));
  timer.unref();

  return {
    writable: () => lastBeatWritten,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      if (inFlight !== null) await inFlight;
      // A receiver that stops must not delete the beat of another receiver that wrote after it.
      const removed = alive.release().then(
        () => undefined,
        (err: unknown) => options.logger?.warn({ err }, 'webhook heartbeat key not deleted; it expires by itself'),
      );
      const settled = new AbortController();
      const gaveUp = sleep(STOP_DEADLINE_MS, undefined, { ref: false, signal: settled.signal });
      await Promise.race([removed, gaveUp]);
      // Ends the timer; the race has already settled, so the rejection it causes goes nowhere.
      settled.abort();
    },
  };
}
