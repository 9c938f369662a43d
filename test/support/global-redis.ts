import type { TestProject } from 'vitest/node';
import { hasRedisServer, startPrivateRedis } from '../../tools/fleet/private-redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/**
 * One real Redis for the whole run: REDIS_URL if set; else a private redis-server from PATH on a
 * free port; else testcontainers' Redis when a Docker engine answers; else fail saying what to install.
 * Tests isolate themselves with unique key prefixes, so sharing one server is safe.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) {
    project.provide('redisUrl', fromEnv);
    return async () => {};
  }
  if (hasRedisServer()) {
    const redis = await startPrivateRedis();
    project.provide('redisUrl', redis.url);
    return () => redis.destroy();
  }
  try {
    const { RedisContainer } = await import('@testcontainers/redis');
    const container = await new RedisContainer('redis:7-alpine').start();
    project.provide('redisUrl', container.getConnectionUrl());
    return async () => {
      await container.stop();
    };
  } catch (err) {
    throw new Error(
      'No Redis for the tests: set REDIS_URL, or install redis-server (Debian/Ubuntu: apt-get install redis-server), ' +
        `or run a Docker engine for testcontainers (${(err as Error).message})`,
    );
  }
}
