import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { parseRedisClusterNodes } from '../../src/config/redis-cluster-nodes.js';
import { ConfigError } from '../../src/errors/errors.js';
import { partitionLayout } from '../../src/redis/partitions.js';
import { needsHashTags, redisTargetOf } from '../../src/redis/redis-target.js';

describe('REDIS_CLUSTER_NODES', () => {
  describe('when it lists host:port seed nodes', () => {
    it('reads every node in order, blanks around entries ignored', () => {
      expect(parseRedisClusterNodes('10.0.0.5:7000, redis-b.internal:7001 ,127.0.0.1:30001')).toEqual({
        nodes: [
          { host: '10.0.0.5', port: 7000 },
          { host: 'redis-b.internal', port: 7001 },
          { host: '127.0.0.1', port: 30001 },
        ],
      });
    });

    it('reads an IPv6 address in brackets, without them', () => {
      expect(parseRedisClusterNodes('[::1]:7000,[fd00::5]:7001')).toEqual({
        nodes: [
          { host: '::1', port: 7000 },
          { host: 'fd00::5', port: 7001 },
        ],
      });
    });

    it('makes every process target the cluster, with its credentials, and hash-tag the layout', () => {
      const config = loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.5:7000,10.0.0.6:7000', REDIS_CLUSTER_USERNAME: 'fleet', REDIS_CLUSTER_PASSWORD: 's3cret' });
      const target = redisTargetOf(config);
      expect(target).toEqual({
        kind: 'cluster',
        nodes: [
          { host: '10.0.0.5', port: 7000 },
          { host: '10.0.0.6', port: 7000 },
        ],
        auth: { username: 'fleet', password: 's3cret' },
      });
      expect(needsHashTags(target)).toBe(true);
      const layout = partitionLayout(config.QUEUE_PREFIX, config.QUEUE_PARTITIONS, needsHashTags(target));
      expect(layout.partitions.map((p) => p.prefix)).toEqual(['{bull-0}']);
      expect(layout.global.prefix).toBe('{bull-global}');
    });
  });

  describe('when cluster credentials are set without it', () => {
    it('refuses them, naming the variable and never repeating the password', () => {
      const load = (): unknown => loadConfig({ REDIS_CLUSTER_PASSWORD: 's3cret' });
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(/^REDIS_CLUSTER_PASSWORD: only read with REDIS_CLUSTER_NODES/);
      expect(load).not.toThrow(/s3cret/);
    });
  });

  it('is unset by default, leaving REDIS_URL in charge with the untagged layout', () => {
    const config = loadConfig({});
    expect(config.REDIS_CLUSTER_NODES).toBeUndefined();
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(redisTargetOf(config)).toEqual({ kind: 'standalone', url: 'redis://127.0.0.1:6379' });
    expect(needsHashTags(redisTargetOf(config))).toBe(false);
  });

  it.each([
    ['10.0.0.5', /expected host:port, got "10\.0\.0\.5"/],
    ['10.0.0.5:7000,', /entry 2 is empty/],
    ['10.0.0.5:7000,,10.0.0.6:7000', /entry 2 is empty/],
    [':7000', /expected host:port/],
    ['10.0.0.5:0', /expected a port 1-65535/],
    ['10.0.0.5:65536', /expected a port 1-65535/],
    ['10.0.0.5:70x', /expected a port 1-65535/],
    ['10.0.0.5:-1', /expected a port 1-65535/],
    ['::1:7000', /IPv6 as \[addr\]:port/],
    ['[10.0.0.5]:7000', /expected host:port/],
    ['has space:7000', /expected host:port/],
  ])('rejects %j with a message naming the variable', (value, message) => {
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: value })).toThrow(message);
    try {
      loadConfig({ REDIS_CLUSTER_NODES: value });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe('REDIS_CLUSTER_NODES');
      expect((err as ConfigError).message).toMatch(/^REDIS_CLUSTER_NODES: expected/);
    }
  });

  it('rejects a URL without repeating it, since it may carry a password', () => {
    for (const value of ['redis://:hunter22@10.0.0.5:7000', 'user:hunter22@10.0.0.5:7000']) {
      const parsed = parseRedisClusterNodes(value);
      expect(parsed).toEqual({ problem: expect.stringMatching(/expected host:port entries, not URLs/) as unknown });
      expect(JSON.stringify(parsed)).not.toContain('hunter22');
    }
  });
});
