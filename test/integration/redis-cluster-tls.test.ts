import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { closeCommandConnection, isClusterClient, type RedisClient } from '../../src/redis/connect.js';
import { LuaScript } from '../../src/redis/lua-script.js';
import { openRedis, openRedisForCommand, openRedisForProbes, redisTargetOf, type RedisTarget } from '../../src/redis/redis-target.js';
import { uniquePrefix } from '../support/redis.js';
import { startPrivateRedisCluster, type PrivateRedisCluster } from '../support/redis-cluster.js';

/** Sets two keys and returns both: one script call, two keys. */
const SET_BOTH = new LuaScript(`
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
return redis.call('MGET', KEYS[1], KEYS[2])
`);

function asCluster(client: RedisClient): Cluster {
  if (!isClusterClient(client)) throw new Error('expected a cluster connection');
  return client;
}

describe('when the cluster nodes speak TLS only (REDIS_CLUSTER_TLS with a private CA)', () => {
  let cluster: PrivateRedisCluster;
  let target: RedisTarget;
  const prefix = uniquePrefix('cluster-tls');
  const logger = createLogger({ level: 'silent' });

  beforeAll(async () => {
    // 3 primaries + 3 replicas: the start waits until every replica's link (TLS too) is up.
    cluster = await startPrivateRedisCluster({ tls: true });
    // One seed by name: its certificate is checked against "localhost", not a resolved IP.
    const [first, ...rest] = cluster.nodes;
    const seeds = [`localhost:${first?.port ?? 0}`, ...rest.map((n) => `127.0.0.1:${n.port}`)].join(',');
    target = redisTargetOf(loadConfig({ REDIS_CLUSTER_NODES: seeds, REDIS_CLUSTER_TLS: 'true', REDIS_CLUSTER_TLS_CA_FILE: cluster.caFile }));
  }, 30_000);

  afterAll(async () => {
    await cluster?.destroy();
  });

  it('writes keys on every primary and reads them back through the long-lived connection', async () => {
    const client = asCluster(openRedis(target, logger, 'vf-test-tls'));
    try {
      const keys = Array.from({ length: 30 }, (_, i) => `${prefix}:spread:${i}`);
      for (const key of keys) await client.set(key, `v-${key}`, 'EX', 600);
      const owners = new Set(await Promise.all(keys.map((key) => cluster.primaryPortOf(key))));
      expect([...owners].sort()).toEqual((await cluster.primaryPorts()).sort());
      for (const key of keys) expect(await client.get(key)).toBe(`v-${key}`);
      expect(client.nodes('master')).toHaveLength(3);
    } finally {
      await client.quit();
    }
  });

  it('runs a hash-tagged LuaScript over TLS, by EVAL and then from the script cache', async () => {
    const client = openRedis(target, logger, 'vf-test-tls-script');
    try {
      const keys = [`{${prefix}:order-1}:a`, `{${prefix}:order-1}:b`];
      expect(await SET_BOTH.run(client, keys, ['1', '2'])).toEqual(['1', '2']);
      expect(await SET_BOTH.run(client, keys, ['3', '4'])).toEqual(['3', '4']);
    } finally {
      await client.quit();
    }
  });

  it('answers the probe and the one-shot command connections too', async () => {
    const probe = openRedisForProbes(target, 'vf-test-tls-probe');
    const command = await openRedisForCommand(target, 'vf-test-tls-command');
    try {
      await expect.poll(() => probe.ping().catch((err: unknown) => String(err)), { timeout: 5_000, interval: 100 }).toBe('PONG');
      await command.set(`${prefix}:command`, 'ok', 'EX', 600);
      expect(await command.get(`${prefix}:command`)).toBe('ok');
    } finally {
      await closeCommandConnection(command);
      probe.disconnect();
    }
  });

  describe('when a process connects without TLS', () => {
    it('fails within seconds, naming the seeds and the variable to check', async () => {
      const plain = redisTargetOf(loadConfig({ REDIS_CLUSTER_NODES: cluster.seeds }));
      await expect(openRedisForCommand(plain, 'vf-test-plain')).rejects.toThrow(/cannot reach the Redis Cluster at 127\.0\.0\.1:\d+.*REDIS_CLUSTER_NODES right \(REDIS_CLUSTER_TLS off/);
    }, 15_000);
  });

  describe('when the nodes’ CA is not trusted (no REDIS_CLUSTER_TLS_CA_FILE)', () => {
    it('fails within seconds, saying the certificate was refused', async () => {
      const untrusted = redisTargetOf(loadConfig({ REDIS_CLUSTER_NODES: cluster.seeds, REDIS_CLUSTER_TLS: 'true' }));
      await expect(openRedisForCommand(untrusted, 'vf-test-untrusted')).rejects.toThrow(/cannot reach the Redis Cluster .*certificate.*REDIS_CLUSTER_TLS on/i);
    }, 15_000);
  });
});
