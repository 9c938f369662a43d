import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connect.js';
import { Gauge, type Registry } from 'prom-client';
import { withTimeout } from '../health/with-timeout.js';
import type { FleetPauseReason } from '../lifecycle/order-state.js';
import { readFleetPause } from '../queue/fleet-pause.js';
import { partitionLayout } from '../redis/partitions.js';

/** Longest wait for one fleet-wide reading at scrape time, in ms. */
const READ_TIMEOUT_MS = 1_000;

const PAUSE_REASONS: readonly FleetPauseReason[] = ['rate_limited', 'key_refused'];

/** Where the fleet-wide gauges read from. */
export interface FleetGaugeSources {
  /** A fail-fast connection (connectRedisForProbes). */
  redis: RedisClient;
  /** Key prefix (QUEUE_PREFIX). */
  prefix: string;
  /** QUEUE_PARTITIONS; default 1. */
  partitions?: number;
  /** Hash-tag the layout even with one partition (a Redis Cluster: REDIS_CLUSTER_NODES). Default false. */
  hashTags?: boolean;
  /** `order-intents` of every partition on that connection (their limiters tell a paused fleet). */
  intents: readonly Queue[];
}

/**
 * Fleet-wide gauges read from Redis when scraped, so every worker shows the same fleet: the last
 * balance reading (`voodoo_balance`), the orders waiting for funds (`voodoo_intents_waiting_for_funds`,
 * the ledger's funds-waiting set), and whether the fleet is paused and why (`voodoo_fleet_paused`).
 * A reading that fails (Redis away) is left out of that scrape.
 */
export function registerFleetGauges(registry: Registry, sources: FleetGaugeSources): void {
  const layout = partitionLayout(sources.prefix, sources.partitions, sources.hashTags);
  const keys = layout.global.keys;
  const bounded = <T>(promise: Promise<T>, what: string): Promise<T> => withTimeout(promise, READ_TIMEOUT_MS, what);
  new Gauge({
    name: 'voodoo_balance',
    help: "The fleet's last reading of the account balance, in account currency units (absent until one was read)",
    registers: [registry],
    async collect() {
      this.reset();
      const value = await bounded(sources.redis.hget(keys.balance, 'value'), 'balance').catch(() => null);
      const balance = value === null ? Number.NaN : Number(value);
      if (Number.isFinite(balance)) this.set(balance);
    },
  });
  new Gauge({
    name: 'voodoo_intents_waiting_for_funds',
    help: 'Orders of the fleet waiting because the balance or SPEND_LIMIT cannot cover them',
    registers: [registry],
    async collect() {
      this.reset();
      // Each partition keeps its own funds-waiting set; the fleet's count is their sum.
      const counts = await bounded(Promise.all(layout.partitions.map((p) => sources.redis.zcard(p.keys.fundsWaiting))), 'funds-waiting count').catch(() => null);
      if (counts !== null) this.set(counts.reduce((sum, n) => sum + n, 0));
    },
  });
  new Gauge({
    name: 'voodoo_fleet_paused',
    help: 'Whether the fleet is paused (1) or not (0), by reason: rate_limited (the API answered 429) or key_refused (the API key was refused)',
    labelNames: ['reason'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const paused = await bounded(readFleetPause(sources.intents, sources.redis, layout.global.prefix), 'fleet pause').catch(() => undefined);
      if (paused === undefined) return;
      for (const reason of PAUSE_REASONS) this.set({ reason }, paused === reason ? 1 : 0);
    },
  });
}
