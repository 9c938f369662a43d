import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../../tools/fleet/private-redis.js';
import { runCli } from '../support/run-cli.js';

/**
 * A Redis that may evict keys breaks the one-result promise (an evicted tombstone lets a
 * re-enqueued merchant_order_id produce a second result), so no process may start on one.
 */
describe('a Redis with maxmemory-policy allkeys-lru', () => {
  let redis: PrivateRedis | undefined;
  beforeAll(async () => {
    redis = await startPrivateRedis({ extraArgs: ['--maxmemory-policy', 'allkeys-lru'] });
  });
  afterAll(async () => {
    await redis?.destroy();
  });

  const env = (): Record<string, string> => ({
    REDIS_URL: redis?.url ?? '',
    QUEUE_PREFIX: 'startup-checks',
    VOODOO_API_KEY: 'ak_test_startup_checks_0001',
    VOODOO_API_URL: 'http://127.0.0.1:9',
    VOODOO_WEBHOOK_SECRET: 'whsec_test_startup_checks',
    WEBHOOK_PORT: '0',
    DASHBOARD_PORT: '0',
    METRICS_PORT: '0',
  });

  for (const command of ['worker', 'webhook', 'dashboard']) {
    it(`stops the ${command} with exit 1, naming maxmemory-policy and why`, async () => {
      const run = await runCli([command], env());
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^REDIS_URL: maxmemory-policy is allkeys-lru: .*second result; set maxmemory-policy noeviction$/m);
      // It never got as far as saying it started.
      expect(run.stdout).not.toMatch(/worker started|webhook receiver listening|dashboard listening/);
    });
  }
});
