import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FulfillmentError } from '../../../src/errors/errors.js';
import { createLogger } from '../../../src/logging/logger.js';
import { connectedReplicas, createReplicationWait } from '../../../src/redis/replication-wait.js';
import { defaultSandboxCatalog } from '../../../src/sandbox/sandbox-server.js';
import { startPrivateRedis, type PrivateRedis } from '../../../tools/fleet/private-redis.js';
import { Resources, startHandlerKit, startTestSandbox } from './handler-kit.js';

/**
 * The attempt record must survive a failover before money may move (issue 10, item 3): Redis
 * replicates asynchronously, so the worker WAITs for a replica's acknowledgement before a create,
 * and sends nothing while none comes.
 */

const resources = new Resources();
const servers: PrivateRedis[] = [];
const clients: Redis[] = [];
afterEach(async () => {
  await resources.close();
  for (const client of clients.splice(0)) client.disconnect();
  await Promise.all(servers.splice(0).map((server) => server.destroy()));
});

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A primary and one replica linked to it, each a private redis-server. */
async function primaryWithReplica(): Promise<{ primary: PrivateRedis; replica: PrivateRedis; redis: Redis }> {
  // Redis waits 5 s by default for more replicas before a full sync; one is all there is.
  const primary = await startPrivateRedis({ extraArgs: ['--repl-diskless-sync-delay', '0'] });
  servers.push(primary);
  const replica = await startPrivateRedis({ extraArgs: ['--replicaof', '127.0.0.1', String(primary.port)] });
  servers.push(replica);
  const redis = new Redis(primary.url, { maxRetriesPerRequest: null });
  const replicaClient = new Redis(replica.url, { maxRetriesPerRequest: null });
  clients.push(redis, replicaClient);
  await waitFor(async () => connectedReplicas(await redis.info('replication')) === 1, 'the replica to connect');
  await waitFor(async () => /master_link_status:up/.test(await replicaClient.info('replication')), 'the replica link');
  return { primary, replica, redis };
}

const quietLogger = () => {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } }) };
};

describe('the replication wait', () => {
  it('reads the connected replicas from INFO replication', () => {
    expect(connectedReplicas('# Replication\r\nrole:master\r\nconnected_slaves:2\r\n')).toBe(2);
    expect(connectedReplicas('# Replication\r\nrole:slave\r\n')).toBe(0);
  });

  it('returns once a replica acknowledged the writes, and refuses (retryable) while the replica does not answer', async () => {
    const { replica, redis } = await primaryWithReplica();
    const { logger } = quietLogger();
    // Generous while the replica answers (a loaded machine may take a while to acknowledge), short once it cannot.
    await redis.set('k', '1');
    await expect(createReplicationWait({ redis, replicas: 1, timeoutMs: 5_000, logger })()).resolves.toBeUndefined();
    const wait = createReplicationWait({ redis, replicas: 1, timeoutMs: 300, logger });

    replica.freeze();
    try {
      await redis.set('k', '2');
      const err: unknown = await wait().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FulfillmentError);
      expect(err).toMatchObject({ code: 'transient', retryable: true });
      expect((err as Error).message).toContain('REDIS_WAIT_REPLICAS');
      // Off: nothing is waited for, whatever the replica does.
      await expect(createReplicationWait({ redis, replicas: 0, timeoutMs: 300, logger })()).resolves.toBeUndefined();
    } finally {
      replica.thaw();
    }
  });

  it('waits for nothing on a Redis without replicas, and says so once', async () => {
    const server = await startPrivateRedis();
    servers.push(server);
    const redis = new Redis(server.url, { maxRetriesPerRequest: null });
    clients.push(redis);
    const { lines, logger } = quietLogger();
    const wait = createReplicationWait({ redis, replicas: 1, timeoutMs: 5_000, logger, replicaCountCacheMs: 0 });
    await wait();
    await wait();
    expect(lines.filter((line) => line.includes('no replica connected'))).toHaveLength(1);
  });
});

describe('when the attempt record cannot reach a replica', () => {
  it('sends no create until a replica acknowledges it, then places the order once', async () => {
    const { primary, replica } = await primaryWithReplica();
    const sandbox = resources.add(await startTestSandbox());
    const kit = resources.add(
      await startHandlerKit({ apiUrl: sandbox.url, catalog: defaultSandboxCatalog(), redisUrl: primary.url, replication: { replicas: 1, timeoutMs: 1_000 } }),
    );
    replica.freeze();
    await kit.enqueue({ merchant_order_id: 'rw-1', item_id: 4090, quantity: 2 });
    // The job tried, was refused by the wait, and parked to retry: nothing was sent.
    await kit.parked('rw-1');
    expect(sandbox.stats().calls.create).toBe(0);
    expect(await kit.state('rw-1')).toMatchObject({ failures: 1 });

    replica.thaw();
    expect((await kit.pollUntilResult('rw-1')).status).toBe('completed');
    expect(sandbox.orders().filter((o) => o.merchantOrderId === 'rw-1')).toHaveLength(1);
    expect(sandbox.stats().calls.create).toBe(1);
  });
});
