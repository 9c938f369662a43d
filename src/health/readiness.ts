import type { RedisClient } from '../redis/connect.js';
import type { Logger } from '../logging/logger.js';
import { keyRefused } from '../queue/fleet-pause.js';
import { judgeRedisClient } from '../redis/startup-checks.js';
import { withTimeout } from './with-timeout.js';

/** The long-running processes that report readiness (the `component` label of `voodoo_ready`). */
export type Component = 'worker' | 'webhook' | 'dashboard';

/** What the last look at a process's dependencies found. */
export interface ReadinessFacts {
  /** Redis answered the last PING in time. */
  redisAnswers: boolean;
  /** What the last run of the startup checks found wrong ([] = passed); null before their first run. */
  checkProblems: readonly string[] | null;
  /** The fleet is paused because the API refused its key (only for a process that needs the key). */
  keyRefused: boolean;
  /** Reasons of the process's own (the receiver's event store not writable). */
  own: readonly string[];
}

/** Why a process with these facts is not ready; empty when it is. Pure. */
export function readinessReasons(facts: ReadinessFacts): string[] {
  const reasons: string[] = [];
  if (!facts.redisAnswers) reasons.push('redis: no answer to PING (REDIS_URL)');
  if (facts.checkProblems === null) reasons.push('redis: startup checks not run yet');
  else reasons.push(...facts.checkProblems.map((problem) => `redis: ${problem}`));
  if (facts.keyRefused) reasons.push('api: the API key was refused; the fleet is paused until it is fixed');
  reasons.push(...facts.own);
  return reasons;
}

/**
 * Whether Redis is fit to work on as far as the checks can tell (`voodoo_redis_checks_ok`): it
 * answers, and the last run of the startup checks passed. A Redis that stopped answering counts as
 * failing: the last run's verdict is stale then, and the alert on this gauge is how an on-call
 * learns that a process lost Redis. Pure.
 */
export function redisChecksOk(facts: ReadinessFacts): boolean {
  return facts.redisAnswers && facts.checkProblems !== null && facts.checkProblems.length === 0;
}

/**
 * Whether the startup checks are due: never run, Redis just came back (it may be another Redis, or
 * one restarted with other settings), or `intervalMs` passed since the last run. Pure.
 */
export function checksDue(lastRunAtMs: number | null, redisCameBack: boolean, nowMs: number, intervalMs: number): boolean {
  return lastRunAtMs === null || redisCameBack || nowMs - lastRunAtMs >= intervalMs;
}

/** What readiness reports. */
export interface ReadinessStatus {
  ready: boolean;
  /** Why it is not ready (empty when ready), each naming what to look at. */
  reasons: string[];
  /** Redis answers and the last run of the startup checks passed ({@link redisChecksOk}). */
  redisChecksOk: boolean;
}

/** A process's readiness, kept current in the background. */
export interface Readiness {
  readonly component: Component;
  status(): ReadinessStatus;
  /** Stop looking (the connection is the caller's to close). */
  close(): void;
}

/** Options of {@link startReadiness}. */
export interface ReadinessOptions {
  component: Component;
  /** A fail-fast connection (connectRedisForProbes). Not owned. */
  redis: RedisClient;
  /** Prefix of the fleet-wide keys: QUEUE_PREFIX, or with QUEUE_PARTITIONS > 1 the global area's (`partitionLayout(…).global.prefix`). */
  prefix: string;
  logger: Logger;
  /** Whether a refused API key makes this process unready: true for a worker, which can place nothing without it. */
  needsApiKey: boolean;
  /** The process's own conditions, each a reason when unmet or null (read once per look, so cheap). */
  own?: readonly (() => string | null)[];
  /** Time between two looks (PING, key mark, own conditions), in ms. Default 1 000. */
  intervalMs?: number;
  /** Longest wait for one Redis answer, in ms. Default 1 000. */
  timeoutMs?: number;
  /** Time between two runs of the startup checks while Redis answers, in ms. Default 30 000. */
  checksIntervalMs?: number;
  /** Clock, epoch ms. */
  now?: () => number;
}

/**
 * Keep a process's readiness current: every `intervalMs` PING Redis (bounded), look at the
 * refused-key mark and the process's own conditions; re-run the startup checks every
 * `checksIntervalMs` and right after Redis comes back. With the defaults readiness turns false
 * within about 2 s of Redis going away. Changes are logged once each. Resolves after the first look.
 */
export async function startReadiness(options: ReadinessOptions): Promise<Readiness> {
  const intervalMs = options.intervalMs ?? 1_000;
  const timeoutMs = options.timeoutMs ?? 1_000;
  const checksIntervalMs = options.checksIntervalMs ?? 30_000;
  const now = options.now ?? Date.now;
  const { redis, logger } = options;
  const log = logger.child({ component: `${options.component}-readiness` });

  const facts: ReadinessFacts = { redisAnswers: false, checkProblems: null, keyRefused: false, own: [] };
  let checksRunAtMs: number | null = null;
  let lastReasons: string[] | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const bounded = <T>(promise: Promise<T>, what: string): Promise<T> => withTimeout(promise, timeoutMs, what);

  const look = async (): Promise<void> => {
    const wasAnswering = facts.redisAnswers;
    facts.redisAnswers = await bounded(redis.ping(), 'PING').then(
      () => true,
      () => false,
    );
    if (facts.redisAnswers && checksDue(checksRunAtMs, !wasAnswering, now(), checksIntervalMs)) {
      try {
        facts.checkProblems = (await bounded(judgeRedisClient(redis), 'startup checks')).problems;
        checksRunAtMs = now();
      } catch {
        // Redis went away mid-run: the next look notices it and runs them again when it is back.
      }
    }
    if (options.needsApiKey && facts.redisAnswers) {
      facts.keyRefused = await bounded(keyRefused(redis, options.prefix), 'refused-key mark').catch(() => facts.keyRefused);
    }
    facts.own = (options.own ?? []).map((condition) => condition()).filter((reason): reason is string => reason !== null);
    const reasons = readinessReasons(facts);
    if (lastReasons === null || reasons.join('\n') !== lastReasons.join('\n')) {
      if (reasons.length > 0) log.warn({ reasons }, 'not ready');
      else if (lastReasons !== null) log.info('ready again');
      lastReasons = reasons;
    }
  };

  const loop = (): void => {
    timer = setTimeout(() => {
      look()
        .catch((err: unknown) => log.error({ err }, 'readiness look failed'))
        .finally(() => {
          if (!closed) loop();
        });
    }, intervalMs);
    // Readiness never keeps a process alive.
    timer.unref();
  };

  // A fresh connection is not writable at once (no offline queue): give it one look's time.
  if (redis.status !== 'ready') {
    let onReady: () => void = () => undefined;
    const connected = new Promise<void>((resolve) => {
      onReady = resolve;
      redis.once('ready', onReady);
    });
    await bounded(connected, 'connect').catch(() => undefined);
    redis.off('ready', onReady);
  }
  await look();
  loop();

  return {
    component: options.component,
    status() {
      const reasons = readinessReasons(facts);
      return { ready: reasons.length === 0, reasons, redisChecksOk: redisChecksOk(facts) };
    },
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}
