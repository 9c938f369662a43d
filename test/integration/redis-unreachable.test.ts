import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LOG_EVENT, readEventLine } from '../../src/logging/log-events.js';
import { createLogger } from '../../src/logging/logger.js';
import { connectRedis } from '../../src/redis/connect.js';
import { createRedisErrorLog } from '../../src/redis/redis-error-log.js';
import { freePort } from '../../tools/fleet/private-redis.js';

describe('when Redis cannot be reached', () => {
  const connections: Redis[] = [];
  afterEach(() => {
    for (const redis of connections.splice(0)) redis.disconnect();
  });

  it('a process writes one line naming REDIS_URL and where it looked for all its connections, then one a window counting the rest', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
    let clock = 1_000_000;
    const port = await freePort();
    const url = `redis://:not-a-real-password@127.0.0.1:${port}`;
    const errorLog = createRedisErrorLog(logger, url, { now: () => clock });
    let failures = 0;
    for (const name of ['vf-a', 'vf-b', 'vf-c']) {
      const redis = connectRedis(url, logger, name, { errorLog });
      redis.on('error', () => void (failures += 1));
      connections.push(redis);
    }
    // Each connection retries within 50-150 ms: several failures each.
    await vi.waitFor(() => expect(failures).toBeGreaterThanOrEqual(9), { timeout: 10_000, interval: 20 });
    const outage = () => lines.map((line) => readEventLine(line)).filter((e) => e?.event === LOG_EVENT.redisError).map((e) => e?.fields ?? {});

    expect(outage()).toHaveLength(1);
    expect(outage()[0]).toMatchObject({ level: 40, redis: `127.0.0.1:${port}`, err: { code: 'ECONNREFUSED' } });
    expect(String(outage()[0]?.msg)).toBe(`redis connection error at 127.0.0.1:${port}: reconnecting (is REDIS_URL right and Redis running?)`);
    expect(lines.join('\n')).not.toContain('not-a-real-password');

    clock += 60_000;
    const before = failures;
    await vi.waitFor(() => expect(failures).toBeGreaterThan(before), { timeout: 10_000, interval: 20 });
    expect(outage()).toHaveLength(2);
    expect(outage()[1]?.repeated).toBeGreaterThanOrEqual(8);
  });
});
