import { FleetError } from '../fleet/fleet-error.js';

/** Default results between two samples: the 10k marks. */
export const SOAK_DEFAULT_EVERY = 10_000;

/**
 * Default most intents enqueued without a result. Enough to keep 2 workers × 64 jobs busy between
 * two feed rounds, few enough that Redis holds a bounded backlog, not the run's whole order count.
 */
export const SOAK_DEFAULT_MAX_OUTSTANDING = 4_000;

/** Options of a soak (`npm run bench -- --soak <orders>`). */
export interface SoakOptions {
  /** Orders of the run. */
  orders: number;
  /** Results between two samples. Default {@link SOAK_DEFAULT_EVERY} (or `orders` when fewer); at most `orders`. */
  every?: number;
  /** Worker processes. Default 2. */
  workers?: number;
  /** WORKER_CONCURRENCY of each. Default 64. */
  concurrency?: number;
  /** Intents per addBulk. Default 1000. */
  batchSize?: number;
  /** Most intents enqueued without a result. Default {@link SOAK_DEFAULT_MAX_OUTSTANDING} (or `batchSize` when larger); at least `batchSize`. */
  maxOutstanding?: number;
  /** Longest the run may go without a single new result before it gives up, in ms. Default 300000. */
  timeoutMs?: number;
  /** Seed of the sandbox's outcomes. Default 1. */
  seed?: number;
  /** Where soak-<orders>.json and .md go. */
  outDir: string;
  /** The product's built CLI; default dist/cli.js of this package. */
  cliPath?: string;
  /** Aborting stops the run (everything is closed) with a FleetError. */
  signal?: AbortSignal;
  /** Receives progress lines. */
  onProgress?: (line: string) => void;
}

/** The settings of a soak, every default filled in and checked. */
export interface SoakSettings {
  orders: number;
  every: number;
  workers: number;
  concurrency: number;
  batchSize: number;
  maxOutstanding: number;
  /** Longest without a new result, in ms. */
  timeoutMs: number;
  seed: number;
}

function wholeNumber(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new FleetError(`${name} must be a whole number >= ${min} (got ${value})`);
  return value;
}

/** Fill in the defaults of `options` and check them; throws a FleetError naming the first bad one. */
export function soakSettings(options: Omit<SoakOptions, 'outDir' | 'cliPath' | 'signal' | 'onProgress'>): SoakSettings {
  const orders = wholeNumber('soak orders', options.orders, 1);
  const every = wholeNumber('soak every', options.every ?? Math.min(SOAK_DEFAULT_EVERY, orders), 1);
  if (every > orders) throw new FleetError(`--soak-every (${every}) must be at most the soak's orders (${orders}): no mark would be taken before the end`);
  const batchSize = wholeNumber('batchSize', options.batchSize ?? 1_000, 1);
  const maxOutstanding = wholeNumber('maxOutstanding', options.maxOutstanding ?? Math.max(SOAK_DEFAULT_MAX_OUTSTANDING, batchSize), 1);
  if (maxOutstanding < batchSize) throw new FleetError(`maxOutstanding (${maxOutstanding}) must be at least the batch size (${batchSize}): no batch would ever fit`);
  return {
    orders,
    every,
    workers: wholeNumber('workers', options.workers ?? 2, 1),
    concurrency: wholeNumber('concurrency', options.concurrency ?? 64, 1),
    batchSize,
    maxOutstanding,
    timeoutMs: wholeNumber('timeoutMs', options.timeoutMs ?? 300_000, 1_000),
    seed: wholeNumber('seed', options.seed ?? 1, 0),
  };
}
