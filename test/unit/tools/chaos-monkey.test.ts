import { describe, expect, it, vi } from 'vitest';
import { ChaosMonkey, type ChaosMonkeyOptions, type ChaosTarget } from '../../../tools/chaos/chaos-monkey.js';
import { seededRandom } from '../../../src/sandbox/seeded-random.js';
import type { FaultConfig } from '../../../src/sandbox/sandbox-types.js';

interface FakeProcess {
  name: string;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const BASE: FaultConfig = { create: { rateLimited: 0.01 } };
const BURST: FaultConfig = { create: { rateLimited: 0.9 } };

/** A fleet stand-in that records what was done to it. */
function fakeFleet(options: { failRestartOf?: string; redis?: boolean } = {}) {
  let running: FakeProcess[] = [{ name: 'worker-1' }, { name: 'worker-2' }];
  let next = 3;
  const log: string[] = [];
  const faults: FaultConfig[] = [];
  const target: ChaosTarget<FakeProcess> = {
    workers: () => [...running],
    restart: async (proc, signal) => {
      log.push(`${signal ?? 'SIGTERM'} ${proc.name}`);
      running = running.filter((p) => p !== proc);
      // A start takes a moment, as a real one does.
      await tick();
      if (proc.name === options.failRestartOf) throw new Error(`worker-${next++} exited (1) before it was ready; last lines:\nboom`);
      const fresh = { name: `worker-${next++}` };
      running.push(fresh);
      return fresh;
    },
    sandbox: { setFaults: (f) => faults.push(f) },
    redisServer:
      options.redis === false
        ? null
        : {
            stop: async () => {
              await tick();
              log.push('redis stop');
            },
            restart: async () => {
              await tick();
              log.push('redis restart');
            },
          },
  };
  return { target, log, faults, running: () => running };
}

function monkey(target: ChaosTarget<FakeProcess>, over: Partial<ChaosMonkeyOptions<FakeProcess>> = {}): ChaosMonkey<FakeProcess> {
  return new ChaosMonkey({
    target,
    baseFaults: BASE,
    burstFaults: BURST,
    killEveryMs: 5,
    burstEveryMs: 60_000,
    burstMs: 60_000,
    redisDownMs: 5,
    random: seededRandom(1),
    ...over,
  });
}

describe('ChaosMonkey', () => {
  it('SIGKILLs up to maxKills workers, each replaced at once, and says so', async () => {
    const fleet = fakeFleet();
    const events: string[] = [];
    const m = monkey(fleet.target, { maxKills: 3, onEvent: (e) => events.push(e) });
    m.start();
    await expect.poll(() => m.counts().workerRestarts).toBe(3);
    const actions = await m.stop();
    expect(actions).toMatchObject({ kills: 3, workerRestarts: 3, failures: [] });
    expect(fleet.log).toHaveLength(3);
    expect(fleet.log.every((entry) => entry.startsWith('SIGKILL worker-'))).toBe(true);
    expect(fleet.running()).toHaveLength(2);
    expect(events.filter((e) => e.startsWith('kill: SIGKILL'))).toHaveLength(3);
  });

  it('kills every killEveryMs counted from the previous kill, but never before its replacement is up', async () => {
    const fleet = fakeFleet();
    let release: () => void = () => undefined;
    const slowStart = new Promise<void>((resolve) => {
      release = resolve;
    });
    const restart = (proc: FakeProcess, signal?: NodeJS.Signals): Promise<FakeProcess> => fleet.target.restart(proc, signal);
    const target: ChaosTarget<FakeProcess> = {
      ...fleet.target,
      restart: async (proc, signal) => {
        await slowStart;
        return restart(proc, signal);
      },
    };
    const m = monkey(target, { maxKills: 3, killEveryMs: 5 });
    m.start();
    await expect.poll(() => m.counts().kills).toBe(1);
    // The gap has long passed, but the first replacement is not up: no second kill yet.
    await new Promise((r) => setTimeout(r, 50));
    expect(m.counts()).toMatchObject({ kills: 1, workerRestarts: 0 });
    release();
    await expect.poll(() => m.counts().workerRestarts).toBe(3);
    expect(await m.stop()).toMatchObject({ kills: 3, workerRestarts: 3, failures: [] });
  });

  it('does not add the replacement start to the gap between kills', async () => {
    vi.useFakeTimers();
    try {
      const fleet = fakeFleet();
      const restart = (proc: FakeProcess, signal?: NodeJS.Signals): Promise<FakeProcess> => fleet.target.restart(proc, signal);
      const target: ChaosTarget<FakeProcess> = {
        ...fleet.target,
        // A start takes 40 ms.
        restart: async (proc, signal) => {
          await new Promise((r) => setTimeout(r, 40));
          return restart(proc, signal);
        },
      };
      const m = monkey(target, { maxKills: 3, killEveryMs: 60 });
      m.start();
      await vi.advanceTimersByTimeAsync(60);
      expect(m.counts()).toMatchObject({ kills: 1, workerRestarts: 0 });
      await vi.advanceTimersByTimeAsync(59);
      expect(m.counts()).toMatchObject({ kills: 1, workerRestarts: 1 });
      // 60 ms after the first kill, not 60 ms after its replacement came up (at 100 ms).
      await vi.advanceTimersByTimeAsync(1);
      expect(m.counts().kills).toBe(2);
      await vi.advanceTimersByTimeAsync(200);
      expect(m.counts()).toMatchObject({ kills: 3, workerRestarts: 3 });
      const stopped = m.stop();
      await vi.runAllTimersAsync();
      await stopped;
    } finally {
      vi.useRealTimers();
    }
  });

  it('kills nobody with maxKills 0', async () => {
    const fleet = fakeFleet();
    const m = monkey(fleet.target, { maxKills: 0 });
    m.start();
    await new Promise((r) => setTimeout(r, 30));
    expect((await m.stop()).kills).toBe(0);
    expect(fleet.log).toEqual([]);
  });

  it('records a replacement that never became ready, with its last lines, and keeps going', async () => {
    const fleet = fakeFleet({ failRestartOf: 'worker-1' });
    const m = monkey(fleet.target, { maxKills: 2, random: { next: () => 0, int: (min) => min } });
    m.start();
    await expect.poll(() => m.counts().kills).toBe(2);
    const actions = await m.stop();
    expect(actions.workerRestarts).toBe(1);
    expect(actions.failures).toEqual(['replacing worker-1 failed: worker-3 exited (1) before it was ready; last lines:\nboom']);
  });

  it('switches the burst faults on and back to the steady mix, and leaves the steady mix on stop', async () => {
    const fleet = fakeFleet();
    const m = monkey(fleet.target, { maxKills: 0, burstEveryMs: 5, burstMs: 5 });
    m.start();
    await expect.poll(() => m.counts().bursts).toBeGreaterThanOrEqual(2);
    const actions = await m.stop();
    expect(fleet.faults.at(-1)).toBe(BASE);
    expect(fleet.faults.filter((f) => f === BURST)).toHaveLength(actions.bursts);
    // Burst and steady mix alternate, starting with a burst.
    fleet.faults.slice(0, -1).forEach((f, i) => expect(f).toBe(i % 2 === 0 ? BURST : BASE));
  });

  it('stops and restarts Redis once, and stop() waits for a restart in progress', async () => {
    const fleet = fakeFleet();
    const m = monkey(fleet.target, { maxKills: 0, redisDownMs: 20 });
    const restart = m.restartRedis();
    const actions = await m.stop();
    expect(actions.redisRestarts).toBe(1);
    expect(fleet.log).toEqual(['redis stop', 'redis restart']);
    await restart;
  });

  it('reports a fleet without a private Redis to restart', async () => {
    const fleet = fakeFleet({ redis: false });
    const m = monkey(fleet.target, { maxKills: 0 });
    await m.restartRedis();
    expect(await m.stop()).toMatchObject({ redisRestarts: 0, failures: ['no private redis-server to restart (the fleet reuses an existing Redis)'] });
  });
});
