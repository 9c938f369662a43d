import { describe, expect, it } from 'vitest';
import type { CommandCount } from '../../../tools/bench/redis-stats.js';
import { StepTimeline, withoutOwnReads, type CommandCounts } from '../../../tools/bench/step-timeline.js';

/**
 * A stand-in for one Redis server's `INFO commandstats`: commands run add to its counters, and a
 * reading counts itself only after it has answered, as Redis does.
 */
class FakeCounters {
  private readonly counts = new Map<string, CommandCount>();
  /** Commands the clients sent: a plain command one each, a script one for all it runs. */
  private sentSoFar = 0;

  run(command: string, calls = 1, usec = 10 * calls): void {
    const was = this.counts.get(command) ?? { calls: 0, usec: 0 };
    this.counts.set(command, { calls: was.calls + calls, usec: was.usec + usec });
  }

  /** A client sends one command that Redis counts as `commands` (a script and what it runs). */
  send(commands: Record<string, number>): void {
    this.sentSoFar += 1;
    for (const [command, calls] of Object.entries(commands)) this.run(command, calls);
  }

  readonly sent = (): number => this.sentSoFar;

  readonly read = async (): Promise<CommandCounts> => {
    // The reading is sent first; Redis counts it once it has answered.
    this.sentSoFar += 1;
    const snapshot = new Map(this.counts);
    this.run('info', 1, 50);
    return Promise.resolve(snapshot);
  };
}

const plain = (counts: ReadonlyMap<string, CommandCount>): Record<string, number> =>
  Object.fromEntries([...counts].map(([command, c]) => [command, c.calls]));

describe('withoutOwnReads', () => {
  it('drops the tracer’s own INFO call and its time', () => {
    const delta = new Map([
      ['info', { calls: 1, usec: 40 }],
      ['evalsha', { calls: 1, usec: 30 }],
    ]);
    expect([...withoutOwnReads(delta, 1)]).toEqual([['evalsha', { calls: 1, usec: 30 }]]);
  });

  it('keeps INFO calls that were not its own, with their share of the time', () => {
    const delta = new Map([['info', { calls: 3, usec: 90 }]]);
    expect(withoutOwnReads(delta, 1).get('info')).toEqual({ calls: 2, usec: 60 });
  });

  it('leaves a delta without INFO alone', () => {
    const delta = new Map([['get', { calls: 2, usec: 4 }]]);
    expect(withoutOwnReads(delta, 1)).toEqual(delta);
  });
});

describe('StepTimeline', () => {
  it('gives each step the commands run inside it and the gaps to the gap label, without its own readings', async () => {
    const redis = new FakeCounters();
    const timeline = new StepTimeline(redis.read, 'other');
    await timeline.start();
    redis.run('bzpopmin');
    await timeline.step('claim', async () => {
      redis.run('evalsha');
      redis.run('hmget');
      redis.run('hset', 2);
      return Promise.resolve();
    });
    timeline.setGap('between');
    redis.run('exists');
    await timeline.boundary('other');

    const segments = timeline.segments().map((s) => ({ step: s.step, commands: plain(s.commands) }));
    expect(segments).toEqual([
      { step: 'other', commands: { bzpopmin: 1 } },
      { step: 'claim', commands: { evalsha: 1, hmget: 1, hset: 2 } },
      { step: 'between', commands: { exists: 1 } },
    ]);
    expect(plain(timeline.wholeRun())).toEqual({ bzpopmin: 1, evalsha: 1, hmget: 1, hset: 2, exists: 1 });
  });

  it('counts the commands sent in each stretch, a script as one, without its own readings', async () => {
    const redis = new FakeCounters();
    const timeline = new StepTimeline(redis.read, 'other', redis.sent);
    await timeline.start();
    redis.send({ bzpopmin: 1 });
    await timeline.step('claim', async () => Promise.resolve(redis.send({ evalsha: 1, hmget: 1, hset: 2 })));
    await timeline.step('park', async () => {
      redis.send({ eval: 1, zadd: 1 });
      redis.send({ eval: 1, zadd: 1 });
      return Promise.resolve();
    });
    expect(timeline.segments().map((s) => [s.step, s.sent])).toEqual([
      ['other', 1],
      ['claim', 1],
      ['other', 0],
      ['park', 2],
    ]);
    expect(timeline.wholeRunSent()).toBe(4);
  });

  it('keeps the order index of each segment', async () => {
    const redis = new FakeCounters();
    const timeline = new StepTimeline(redis.read);
    await timeline.start();
    for (const order of [0, 1]) {
      timeline.setOrder(order);
      await timeline.step('enqueue', async () => Promise.resolve(redis.run('evalsha')));
    }
    expect(timeline.segments().filter((s) => s.step === 'enqueue').map((s) => s.order)).toEqual([0, 1]);
  });

  it('runs steps one at a time, so concurrent callers never share a stretch', async () => {
    const redis = new FakeCounters();
    const timeline = new StepTimeline(redis.read);
    await timeline.start();
    const slow = (command: string) => async (): Promise<void> => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      redis.run(command);
    };
    await Promise.all([timeline.step('a', slow('get')), timeline.step('b', slow('set')), timeline.step('c', slow('del'))]);
    const steps = timeline.segments().filter((s) => s.step !== 'other');
    expect(steps.map((s) => [s.step, plain(s.commands)])).toEqual([
      ['a', { get: 1 }],
      ['b', { set: 1 }],
      ['c', { del: 1 }],
    ]);
  });

  it('counts a step called inside another in the outer one (no deadlock)', async () => {
    const redis = new FakeCounters();
    const timeline = new StepTimeline(redis.read);
    await timeline.start();
    await timeline.step('outer', async () => {
      redis.run('get');
      await timeline.step('inner', async () => Promise.resolve(redis.run('set')));
    });
    expect(timeline.segments().map((s) => [s.step, plain(s.commands)])).toEqual([
      ['other', {}],
      ['outer', { get: 1, set: 1 }],
    ]);
  });

  it('names a step by its answer when asked to, and tells listeners the name it got', async () => {
    const redis = new FakeCounters();
    const timeline = new StepTimeline(redis.read);
    const ended: string[] = [];
    timeline.onStepEnd((step) => ended.push(step));
    await timeline.start();
    await timeline.step('fetch', async () => Promise.resolve(undefined), (job) => (job === undefined ? 'idle fetch' : 'fetch'));
    await timeline.step('fetch', async () => Promise.resolve('job-1'), (job) => (job === undefined ? 'idle fetch' : 'fetch'));
    expect(ended).toEqual(['idle fetch', 'fetch']);
    expect(timeline.segments().map((s) => s.step)).toEqual(['other', 'idle fetch', 'other', 'fetch']);
  });

  it('still closes a step whose call fails, and passes the failure on', async () => {
    const redis = new FakeCounters();
    const timeline = new StepTimeline(redis.read);
    await timeline.start();
    await expect(
      timeline.step('create', async () => {
        redis.run('get');
        return Promise.reject(new Error('API down'));
      }),
    ).rejects.toThrow('API down');
    expect(timeline.segments().map((s) => [s.step, plain(s.commands)])).toEqual([
      ['other', {}],
      ['create', { get: 1 }],
    ]);
  });
});
