import { describe, expect, it } from 'vitest';
import { judgeRedis, versionAtLeast } from '../../src/redis/startup-checks.js';

const good = { version: '7.0.15', maxmemoryPolicy: 'noeviction', appendonly: 'yes' };

describe('the Redis startup checks', () => {
  it('accept a Redis with noeviction and AOF on, silently', () => {
    expect(judgeRedis(good)).toEqual({ problems: [], warnings: [] });
  });

  it('refuse any eviction policy, naming maxmemory-policy and why', () => {
    for (const policy of ['allkeys-lru', 'volatile-lru', 'allkeys-random', 'volatile-ttl', 'allkeys-lfu']) {
      const { problems } = judgeRedis({ ...good, maxmemoryPolicy: policy });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(new RegExp(`^maxmemory-policy is ${policy}: .*second result; set maxmemory-policy noeviction$`));
    }
  });

  it('refuse a Redis older than 6.2', () => {
    expect(judgeRedis({ ...good, version: '6.0.16' }).problems).toEqual(['Redis 6.0.16 is older than 6.2.0, the oldest this system runs on']);
    expect(judgeRedis({ ...good, version: '6.2.0' }).problems).toEqual([]);
  });

  it('warn once when AOF is off', () => {
    expect(judgeRedis({ ...good, appendonly: 'no' })).toEqual({ problems: [], warnings: [expect.stringMatching(/^AOF is off/) as unknown] });
  });

  it('warn, not refuse, when CONFIG GET is not allowed (a managed Redis)', () => {
    const { problems, warnings } = judgeRedis({ ...good, maxmemoryPolicy: null, appendonly: null });
    expect(problems).toEqual([]);
    expect(warnings).toEqual([expect.stringMatching(/^CONFIG GET is not allowed.*maxmemory-policy is noeviction/) as unknown]);
  });

  it('compare dotted versions part by part', () => {
    expect(versionAtLeast('7.0.15', '6.2.0')).toBe(true);
    expect(versionAtLeast('6.10.0', '6.2.0')).toBe(true);
    expect(versionAtLeast('6.1.99', '6.2.0')).toBe(false);
    expect(versionAtLeast('6.2', '6.2.0')).toBe(true);
  });
});
