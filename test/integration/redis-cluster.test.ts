import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LOG_EVENT, readEventLine } from '../../src/logging/log-events.js';
import { createLogger } from '../../src/logging/logger.js';
import { connectRedisCluster } from '../../src/redis/connect.js';
import { LuaScript } from '../../src/redis/lua-script.js';
import { connectRedis, uniquePrefix } from '../support/redis.js';
import { startPrivateRedisCluster, type PrivateRedisCluster } from '../support/redis-cluster.js';

/** Sets two keys and returns both: one script call, two keys. */
const SET_BOTH = new LuaScript(`
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
return redis.call('MGET', KEYS[1], KEYS[2])
`);

/** The live node on `port` among the client's connections. */
function nodeOn(client: Cluster, port: number): Redis {
  const node = client.nodes('all').find((n) => n.options.port === port);
  if (node === undefined) throw new Error(`the client knows no node on port ${port}`);
  return node;
}

/** CLUSTER INFO of the node on `port`, asked over a connection of its own. */
async function clusterInfo(port: number): Promise<string> {
  const redis = connectRedis(`redis://127.0.0.1:${port}`);
  try {
    return String(await redis.cluster('INFO'));
  } finally {
    await redis.quit();
  }
}

/** True while a process with this id exists. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('when the fleet connects to a local Redis Cluster (3 primaries, 3 replicas)', () => {
  let cluster: PrivateRedisCluster;
  let client: Cluster;
  const lines: string[] = [];
  const prefix = uniquePrefix('cluster');

  beforeAll(async () => {
    cluster = await startPrivateRedisCluster();
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
    client = connectRedisCluster(cluster.nodes, logger, 'vf-test-cluster');
    await client.ping();
    // Open the connection to every primary now, so no test opens one the leak check would count.
    await Promise.all(client.nodes('master').map((n) => n.ping()));
  });

  afterAll(async () => {
    if (client !== undefined && client.status !== 'end') await client.quit();
    await cluster?.destroy();
  });

  it('starts with every node saying cluster_state:ok and all 16384 slots served by 3 primaries', async () => {
    expect(cluster.nodes).toHaveLength(6);
    for (const node of cluster.nodes) {
      expect(node.port + 10_000).toBeLessThanOrEqual(65_535);
      expect(node.port).not.toBe(6379);
    }
    const infos = await Promise.all(cluster.nodes.map((n) => clusterInfo(n.port)));
    for (const info of infos) {
      expect(info).toMatch(/^cluster_state:ok\r?$/m);
      expect(info).toMatch(/^cluster_slots_ok:16384\r?$/m);
      expect(info).toMatch(/^cluster_known_nodes:6\r?$/m);
    }
    expect(await cluster.primaryPorts()).toHaveLength(3);
  });

  it('writes keys through connectRedisCluster that land on every primary, and reads them back', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `${prefix}:spread:${i}`);
    for (const key of keys) await client.set(key, `v-${key}`, 'EX', 600);
    const owners = new Set(await Promise.all(keys.map((key) => cluster.primaryPortOf(key))));
    expect([...owners].sort()).toEqual((await cluster.primaryPorts()).sort());
    for (const key of keys) expect(await client.get(key)).toBe(`v-${key}`);
  });

  it('runs a LuaScript whose keys share a hash tag, first by EVAL, then from the script cache', async () => {
    const keys = [`{${prefix}:order-1}:a`, `{${prefix}:order-1}:b`];
    expect(await client.cluster('KEYSLOT', keys[0] ?? '')).toBe(await client.cluster('KEYSLOT', keys[1] ?? ''));
    expect(await SET_BOTH.run(client, keys, ['1', '2'])).toEqual(['1', '2']);
    expect(await SET_BOTH.run(client, keys, ['3', '4'])).toEqual(['3', '4']);
  });

  it('refuses a script whose keys are in different slots with CROSSSLOT, changing nothing', async () => {
    const keys = [`${prefix}:cross:a`, `${prefix}:cross:b`];
    expect(await client.cluster('KEYSLOT', keys[0] ?? '')).not.toBe(await client.cluster('KEYSLOT', keys[1] ?? ''));
    await expect(SET_BOTH.run(client, keys, ['1', '2'])).rejects.toThrow(/^CROSSSLOT/);
    expect(await client.exists(keys[0] ?? '')).toBe(0);
  });

  it('rides out a SIGKILLed primary: its replica takes over, acknowledged writes stay readable, scripts run again', async () => {
    const key = `{${prefix}:failover}:order`;
    const victimPort = await cluster.primaryPortOf(key);
    await SET_BOTH.run(client, [key, `{${prefix}:failover}:other`], ['before', 'kill']);
    // Replication is asynchronous: only a write a replica acknowledged (WAIT) is sure to survive.
    expect(await nodeOn(client, victimPort).wait(1, 5_000)).toBe(1);

    const failover = cluster.killPrimary({ port: victimPort });
    const victim = cluster.nodes.find((n) => n.port === victimPort);
    await vi.waitFor(() => expect(victim?.alive).toBe(false), { timeout: 5_000, interval: 10 });
    // Sent while the slot has no primary: answered once the replica has taken over.
    const duringOutage = client.get(key);
    const { killedPort, promotedPort, durationMs } = await failover;
    expect(await duringOutage).toBe('before');
    expect(durationMs).toBeGreaterThan(0);

    expect(killedPort).toBe(victimPort);
    expect(running(victim?.pid ?? 0)).toBe(false);
    const primaries = await cluster.primaryPorts();
    expect(primaries).toHaveLength(3);
    expect(primaries).toContain(promotedPort);
    expect(primaries).not.toContain(victimPort);
    expect(await cluster.primaryPortOf(key)).toBe(promotedPort);
    expect(await client.get(key)).toBe('before');
    // The promoted replica never cached the script: the EVAL fallback runs it.
    expect(await SET_BOTH.run(client, [key, `{${prefix}:failover}:other`], ['after', 'failover'])).toEqual(['after', 'failover']);

    // The dead node's errors are one warning per kind (refused, closed), naming where the process
    // looked and the variable to check, not one per retry.
    const warnings = lines.flatMap((line) => {
      const event = readEventLine(line);
      return event?.event === LOG_EVENT.redisError ? [event.fields] : [];
    });
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    for (const warning of warnings) {
      expect(String(warning.msg)).toMatch(/^redis connection error at cluster 127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+){5}: reconnecting \(is REDIS_CLUSTER_NODES right/);
    }
    const kinds = warnings.map((warning) => String((warning.err as { message?: unknown } | undefined)?.message));
    expect(new Set(kinds).size).toBe(kinds.length);
  });

  it('stops every node when destroyed, and a second destroy changes nothing', async () => {
    const pids = cluster.nodes.map((n) => n.pid);
    await client.quit();
    await Promise.all([cluster.destroy(), cluster.destroy()]);
    await cluster.destroy();
    expect(pids.filter(running)).toEqual([]);
    expect(cluster.nodes.every((n) => !n.alive)).toBe(true);
  });
});
