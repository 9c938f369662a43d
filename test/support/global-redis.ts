import type { TestProject } from 'vitest/node';
import { hasRedisServer, startPrivateRedis } from '../../tools/fleet/private-redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** A Redis for the tests and how to let go of it. */
interface TestRedis {
  url: string;
  stop(): Promise<void>;
}

/**
 * REDIS_URL if set; else a private redis-server from PATH on a free port; else testcontainers' Redis
 * when a Docker engine answers; else fail saying what to install.
 */
async function startTestRedis(): Promise<TestRedis> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) return { url: fromEnv, stop: async () => {} };
  if (hasRedisServer()) {
    const redis = await startPrivateRedis();
    return { url: redis.url, stop: () => redis.destroy() };
  }
  try {
    const { RedisContainer } = await import('@testcontainers/redis');
    const container = await new RedisContainer('redis:7-alpine').start();
    return {
      url: container.getConnectionUrl(),
      stop: async () => {
        await container.stop();
      },
    };
  } catch (err) {
    throw new Error(
      'No Redis for the tests: set REDIS_URL, or install redis-server (Debian/Ubuntu: apt-get install redis-server), ' +
        `or run a Docker engine for testcontainers (${(err as Error).message})`,
    );
  }
}

/**
 * The run's one Redis, shared by every project that lists this file (integration and e2e). Vitest
 * loads a global setup file once per project, each copy a module of its own, so the share lives on
 * the main process's globalThis: the first project starts it, the last teardown stops it.
 */
const SHARED = Symbol.for('voodoo-fulfillment.test-redis');
interface Shared {
  redis: Promise<TestRedis>;
  users: number;
}
const holder = globalThis as typeof globalThis & { [SHARED]?: Shared };

/**
 * Provides `redisUrl` to the project's tests. Tests isolate themselves with unique key prefixes,
 * so sharing one server is safe.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let shared = holder[SHARED];
  if (shared === undefined) {
    shared = { redis: startTestRedis(), users: 0 };
    holder[SHARED] = shared;
  }
  shared.users += 1;
  const current = shared;
  let redis: TestRedis;
  try {
    redis = await current.redis;
  } catch (err) {
    current.users -= 1;
    if (current.users === 0) delete holder[SHARED];
    throw err;
  }
  project.provide('redisUrl', redis.url);
  return async () => {
    current.users -= 1;
    if (current.users > 0) return;
    delete holder[SHARED];
    await redis.stop();
  };
}
