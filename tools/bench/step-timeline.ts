import { AsyncLocalStorage } from 'node:async_hooks';
import { commandStatsDelta, type CommandCount } from './redis-stats.js';

/** Calls and µs per command, as `INFO commandstats` tells them (see parseCommandStats). */
export type CommandCounts = ReadonlyMap<string, CommandCount>;

/** One stretch of a traced run between two readings of the server's counters. */
export interface Segment {
  /** Index of the order being traced when the stretch ended. */
  order: number;
  /** The step it is attributed to (a wrapped call's, or the gap label in force between steps). */
  step: string;
  /** Commands Redis ran during the stretch, the tracer's own reading left out. */
  commands: Map<string, CommandCount>;
  /** Commands the process's clients sent during the stretch (a script counts one), the tracer's own reading left out; 0 when not counted. */
  sent: number;
}

/** The command the tracer reads the counters with. */
export const OWN_READ_COMMAND = 'info';

/**
 * A delta of two readings without the tracer's own `ownCalls` INFO calls. Redis counts a command
 * once it has run, so a reading never includes itself: the stretch between two readings holds
 * exactly one of them (the first). What Redis spent on it is not known apart from other INFO calls
 * (REDIS_WAIT_REPLICAS reads `INFO replication` now and then): their µs are shared out by calls.
 */
export function withoutOwnReads(delta: ReadonlyMap<string, CommandCount>, ownCalls: number): Map<string, CommandCount> {
  const out = new Map(delta);
  const own = out.get(OWN_READ_COMMAND);
  if (own === undefined) return out;
  const left = own.calls - ownCalls;
  if (left <= 0) out.delete(OWN_READ_COMMAND);
  else out.set(OWN_READ_COMMAND, { calls: left, usec: Math.round((own.usec * left) / own.calls) });
  return out;
}

/** Sum of calls and µs over every command of `counts`. */
export function countTotals(counts: CommandCounts): CommandCount {
  let calls = 0;
  let usec = 0;
  for (const c of counts.values()) {
    calls += c.calls;
    usec += c.usec;
  }
  return { calls, usec };
}

/** Add `more` into `into`, command by command. */
export function addCounts(into: Map<string, CommandCount>, more: CommandCounts): Map<string, CommandCount> {
  for (const [command, c] of more) {
    const was = into.get(command) ?? { calls: 0, usec: 0 };
    into.set(command, { calls: was.calls + c.calls, usec: was.usec + c.usec });
  }
  return into;
}

/**
 * Cuts a run into segments by reading the server's command counters before and after every step,
 * and at the points the caller marks between steps. Steps are serialized (one lock): a step from
 * one component waits while another's runs, so no two wrapped calls share a stretch. A step called
 * from inside another step is not a step of its own: its commands count in the outer one. The
 * stretches between steps go to the gap label set last (`setGap`), e.g. `fetch` between an
 * enqueue and the handler's entry; background commands (BullMQ's blocking fetch loop, stalled
 * checks, heartbeats) fall wherever they happen, which is why a report takes medians over orders.
 */
export class StepTimeline {
  private readonly inside = new AsyncLocalStorage<string>();
  private lock: Promise<void> = Promise.resolve();
  private last: CommandCounts | null = null;
  private first: CommandCounts | null = null;
  private reads = 0;
  private firstSent = 0;
  private lastSent = 0;
  private gap: string;
  private order = 0;
  private readonly cut: Segment[] = [];
  private readonly listeners: ((step: string, order: number) => void)[] = [];

  /**
   * @param read reads the server's counters (`INFO commandstats` on a connection of its own)
   * @param gap label of the stretches between steps until `setGap` says otherwise
   * @param sent commands the process's clients have sent so far, the reads included (see sent-commands.ts); none when omitted
   */
  constructor(
    private readonly read: () => Promise<CommandCounts>,
    gap = 'other',
    private readonly sent?: () => number,
  ) {
    this.gap = gap;
  }

  /** Take the first reading: nothing before it is counted. */
  async start(): Promise<void> {
    await this.exclusive(async () => {
      this.last = await this.read();
      this.first = this.last;
      this.reads = 1;
      this.firstSent = this.sent?.() ?? 0;
      this.lastSent = this.firstSent;
    });
  }

  /** The order the following segments belong to. */
  setOrder(order: number): void {
    this.order = order;
  }

  /** Label of the stretches between steps from the next boundary on. */
  setGap(label: string): void {
    this.gap = label;
  }

  /** Called after each step `step` of `order` ends (drivers wait on a step this way). */
  onStepEnd(listener: (step: string, order: number) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Run `run` as the step `name`: the stretch before it goes to the gap label, its own to `name`.
   * `nameOf`, when given, names the step by its answer instead (e.g. a fetch that found no job).
   */
  async step<T>(name: string, run: () => Promise<T>, nameOf?: (answer: T) => string): Promise<T> {
    if (this.inside.getStore() !== undefined) return run();
    let order = this.order;
    let named = name;
    try {
      return await this.exclusive(async () => {
        await this.boundaryNow(this.gap);
        order = this.order;
        try {
          const answer = await this.inside.run(name, run);
          if (nameOf !== undefined) named = nameOf(answer);
          return answer;
        } finally {
          await this.boundaryNow(named);
        }
      });
    } finally {
      for (const listener of this.listeners) listener(named, order);
    }
  }

  /** End the current gap here (attributed to the gap label in force), then use `next` as the gap label. */
  async boundary(next?: string): Promise<void> {
    await this.exclusive(async () => {
      await this.boundaryNow(this.gap);
      if (next !== undefined) this.gap = next;
    });
  }

  /** Every segment so far, in time order. */
  segments(): readonly Segment[] {
    return this.cut;
  }

  /** What Redis ran from the first reading to the last, the tracer's own readings left out. */
  wholeRun(): Map<string, CommandCount> {
    if (this.first === null || this.last === null) return new Map();
    return withoutOwnReads(commandStatsDelta(this.first, this.last), this.reads - 1);
  }

  /** Commands the clients sent from the first reading to the last, the tracer's own readings left out (0 when not counted). */
  wholeRunSent(): number {
    return this.sent === undefined ? 0 : Math.max(0, this.lastSent - this.firstSent - (this.reads - 1));
  }

  private async boundaryNow(label: string): Promise<void> {
    if (this.last === null) throw new Error('StepTimeline: start() first');
    const now = await this.read();
    this.reads += 1;
    const commands = withoutOwnReads(commandStatsDelta(this.last, now), 1);
    this.last = now;
    // The reading just taken was sent before the count is read: one of the stretch's is the tracer's.
    let sent = 0;
    if (this.sent !== undefined) {
      const sentNow = this.sent();
      sent = Math.max(0, sentNow - this.lastSent - 1);
      this.lastSent = sentNow;
    }
    this.cut.push({ order: this.order, step: label, commands, sent });
  }

  private async exclusive<T>(run: () => Promise<T>): Promise<T> {
    const previous = this.lock;
    let release: () => void = () => undefined;
    this.lock = new Promise((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await run();
    } finally {
      release();
    }
  }
}
