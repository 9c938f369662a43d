import type { Redis } from 'ioredis';
import { intentJobId, resultJobId } from '../../src/queue/job-ids.js';
import { INTENTS_QUEUE, RESULTS_QUEUE } from '../../src/queue/queue-names.js';
import { bullmqKey, projectKeys } from '../../src/redis/keys.js';

/** Redis memory a run leaves behind, for the capacity model. Bytes. */
export interface RedisMemory {
  /** `used_memory` growth over the run ÷ orders: everything retained per finished order. */
  retainedPerOrder: number;
  /** `MEMORY USAGE` of one finished intent job hash (kept RETENTION_SECONDS). */
  intentJob: number | null;
  /** `MEMORY USAGE` of one result job hash in order-results (kept until consumed, then RETENTION_SECONDS). */
  resultJob: number | null;
  /** `MEMORY USAGE` of one ledger record (kept RETENTION_SECONDS after the result). */
  ledgerRecord: number | null;
  /** `MEMORY USAGE` of one tombstone (kept TOMBSTONE_TTL_SECONDS, so the id yields no second result). */
  tombstone: number | null;
}

/** `used_memory` from INFO memory, in bytes. */
export async function readUsedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  const match = /^used_memory:(\d+)/m.exec(info);
  return match?.[1] === undefined ? 0 : Number(match[1]);
}

async function usage(redis: Redis, key: string): Promise<number | null> {
  const bytes = (await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) as number | null;
  return bytes;
}

/** Sample one order's keys (`merchantOrderId`), its tombstone included, under `prefix`. */
export async function readRedisMemory(
  redis: Redis,
  prefix: string,
  merchantOrderId: string,
  usedBefore: number,
  orders: number,
): Promise<RedisMemory> {
  const usedAfter = await readUsedMemory(redis);
  const keys = projectKeys(prefix);
  const [intentJob, resultJob, ledgerRecord, tombstone] = await Promise.all([
    usage(redis, bullmqKey(prefix, INTENTS_QUEUE, intentJobId(merchantOrderId))),
    usage(redis, bullmqKey(prefix, RESULTS_QUEUE, resultJobId(merchantOrderId))),
    usage(redis, keys.order(merchantOrderId)),
    usage(redis, keys.tombstone(merchantOrderId)),
  ]);
  return {
    retainedPerOrder: Math.round(Math.max(0, usedAfter - usedBefore) / Math.max(1, orders)),
    intentJob,
    resultJob,
    ledgerRecord,
    tombstone,
  };
}
