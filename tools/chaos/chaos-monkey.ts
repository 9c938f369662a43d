import type { FleetProcess } from '../fleet/fleet-process.js';
import type { PrivateRedis } from '../fleet/private-redis.js';
import { errorMessage } from '../../src/errors/errors.js';
import type { Random } from '../../src/sandbox/seeded-random.js';
import type { FaultConfig, Sandbox } from '../../src/sandbox/sandbox-types.js';

/** What the monkey needs of a process: its name (a `FleetProcess` is one). */
export type ChaosProcess = Pick<FleetProcess, 'name'>;

/** What the monkey acts on: the parts of a running fleet it needs (a `Fleet` is one). */
export interface ChaosTarget<P extends ChaosProcess = FleetProcess> {
  /** Running worker processes. */
  workers(): P[];
  /** Stop a process with `signal`, then start a new one of the same role. */
  restart(process: P, signal?: NodeJS.Signals): Promise<P>;
  readonly sandbox: Pick<Sandbox, 'setFaults'>;
  /** The private redis-server (null when the fleet reuses a Redis it cannot restart). */
  readonly redisServer: Pick<PrivateRedis, 'stop' | 'restart'> | null;
}

/** Options of {@link ChaosMonkey}. Durations in ms. */
export interface ChaosMonkeyOptions<P extends ChaosProcess = FleetProcess> {
  target: ChaosTarget<P>;
  /** The steady fault mix, restored after each burst and on stop. */
  baseFaults: FaultConfig;
  /** The fault mix during a rate-limit burst. */
  burstFaults: FaultConfig;
  /** Gap between two worker kills (SIGKILL, then a fresh worker at once); longer when a replacement takes longer to start. */
  killEveryMs: number;
  /** Kills at most. Default unlimited. */
  maxKills?: number;
  /** Gap between the end of one rate-limit burst and the start of the next. */
  burstEveryMs: number;
  /** Length of one burst. */
  burstMs: number;
  /** How long Redis stays down in {@link ChaosMonkey.restartRedis}. */
  redisDownMs: number;
  /** Picks the worker to kill (seeded, so a run can be repeated). */
  random: Random;
  /** Told about every action as it happens (progress output). */
  onEvent?: (message: string) => void;
}

/** What the monkey did. */
export interface ChaosActions {
  /** Workers SIGKILLed. */
  kills: number;
  /** Replacement workers started (and ready). */
  workerRestarts: number;
  /** Rate-limit bursts switched on. */
  bursts: number;
  /** Redis stopped and started again. */
  redisRestarts: number;
  /** Actions that went wrong (a replacement worker that never became ready, a Redis that did not come back). */
  failures: string[];
}


/**
 * Injects the faults the sandbox cannot: kills a worker every `killEveryMs` (restarted right away;
 * the next kill waits for the replacement when it takes longer to start), switches 429 bursts on and off, and restarts Redis
 * on request. Everything it does is counted; stop() waits for the actions in progress, so the
 * fleet is whole again when it returns.
 */
export class ChaosMonkey<P extends ChaosProcess = FleetProcess> {
  private readonly actions: ChaosActions = { kills: 0, workerRestarts: 0, bursts: 0, redisRestarts: 0, failures: [] };
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;
  private started = false;

  constructor(private readonly options: ChaosMonkeyOptions<P>) {}

  /** Start the kill and burst schedules. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    if (this.killsLeft()) this.later(this.options.killEveryMs, () => this.killOne());
    this.later(this.options.burstEveryMs, () => this.burst());
  }

  /** Stop Redis (SIGTERM: AOF is flushed), keep it down `redisDownMs`, start it again. Counted once done. */
  restartRedis(): Promise<void> {
    return this.track(async () => {
      const server = this.options.target.redisServer;
      if (server === null) {
        this.actions.failures.push('no private redis-server to restart (the fleet reuses an existing Redis)');
        return;
      }
      this.event('redis: stopping');
      try {
        await server.stop();
        await new Promise((resolve) => setTimeout(resolve, this.options.redisDownMs));
        await server.restart();
        this.actions.redisRestarts += 1;
        this.event(`redis: back after ${this.options.redisDownMs} ms down`);
      } catch (err) {
        this.actions.failures.push(`redis restart failed: ${errorMessage(err)}`);
      }
    });
  }

  /** Cancel the schedules, wait for any action in progress, restore the steady faults; returns the counts. */
  async stop(): Promise<ChaosActions> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    this.options.target.sandbox.setFaults(this.options.baseFaults);
    return this.counts();
  }

  /** The counts so far (a copy). */
  counts(): ChaosActions {
    return { ...this.actions, failures: [...this.actions.failures] };
  }

  private killOne(): void {
    void this.track(async () => {
      const killedAtMs = Date.now();
      const workers = this.options.target.workers();
      const victim = workers[this.options.random.int(0, workers.length - 1)];
      if (victim !== undefined) {
        this.actions.kills += 1;
        this.event(`kill: SIGKILL ${victim.name}`);
        try {
          const fresh = await this.options.target.restart(victim, 'SIGKILL');
          this.actions.workerRestarts += 1;
          this.event(`kill: ${fresh.name} started in place of ${victim.name}`);
        } catch (err) {
          this.actions.failures.push(`replacing ${victim.name} failed: ${errorMessage(err)}`);
        }
      }
      // The next kill is due `killEveryMs` after this one, or as soon as this one's replacement is
      // up when its start took longer: one worker down at a time, never one still starting.
      if (this.killsLeft()) this.later(Math.max(0, killedAtMs + this.options.killEveryMs - Date.now()), () => this.killOne());
    });
  }

  private killsLeft(): boolean {
    return this.actions.kills < (this.options.maxKills ?? Number.POSITIVE_INFINITY);
  }

  private burst(): void {
    this.actions.bursts += 1;
    this.options.target.sandbox.setFaults(this.options.burstFaults);
    this.later(this.options.burstMs, () => {
      this.options.target.sandbox.setFaults(this.options.baseFaults);
      this.later(this.options.burstEveryMs, () => this.burst());
    });
  }

  private later(ms: number, run: () => void): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) run();
    }, ms);
    this.timers.add(timer);
  }

  private track(action: () => Promise<void>): Promise<void> {
    const promise = action().finally(() => this.pending.delete(promise));
    this.pending.add(promise);
    return promise;
  }

  private event(message: string): void {
    this.options.onEvent?.(message);
  }
}
