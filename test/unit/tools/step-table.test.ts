import { describe, expect, it } from 'vitest';
import { initialState } from '../../../src/lifecycle/order-machine.js';
import type { OrderState } from '../../../src/lifecycle/order-state.js';
import type { CommandCount } from '../../../tools/bench/redis-stats.js';
import { savedStep, STEP_DEFINITIONS, traced, tracedFunction, type StepRules } from '../../../tools/bench/step-table.js';
import { StepTimeline, type CommandCounts } from '../../../tools/bench/step-timeline.js';

/** A timeline over counters that never move: only the step names matter here. */
function namesOnly(): { timeline: StepTimeline; steps: string[] } {
  const still: CommandCounts = new Map<string, CommandCount>();
  const timeline = new StepTimeline(async () => Promise.resolve(still));
  const steps: string[] = [];
  timeline.onStepEnd((step) => steps.push(step));
  return { timeline, steps };
}

class Ledger {
  private readonly saved: string[] = [];
  async save(phase: string): Promise<number> {
    this.saved.push(phase);
    return Promise.resolve(this.saved.length);
  }
  async load(): Promise<string[]> {
    return Promise.resolve(this.saved);
  }
  get size(): number {
    return this.saved.length;
  }
}

describe('traced', () => {
  it('runs the calls its rules name as steps, and everything else untouched on the target itself', async () => {
    const { timeline, steps } = namesOnly();
    await timeline.start();
    const rules: StepRules<Ledger> = { save: (phase) => `save ${phase}` };
    const ledger = traced(new Ledger(), rules, timeline);
    expect(await ledger.save('placing')).toBe(1);
    expect(await ledger.load()).toEqual(['placing']);
    expect(ledger.size).toBe(1);
    expect(steps).toEqual(['save placing']);
  });

  it('wraps a function as one step', async () => {
    const { timeline, steps } = namesOnly();
    await timeline.start();
    const close = tracedFunction(async (jobId: string) => Promise.resolve(jobId.length), 'complete', timeline);
    expect(await close('intent-1')).toBe(8);
    expect(steps).toEqual(['complete']);
  });
});

describe('savedStep', () => {
  const state = (overrides: Partial<OrderState>): OrderState => ({ ...initialState({ merchantOrderId: 'm-1', itemId: 4090 }, 0), ...overrides });

  it('names a ledger save by the state it writes', () => {
    expect(savedStep(state({ phase: 'received' }))).toBe('price record');
    expect(savedStep(state({ phase: 'placing' }))).toBe('attempt record');
    expect(savedStep(state({ phase: 'placed' }))).toBe('placed record');
    expect(savedStep(state({ phase: 'done', emitted: false }))).toBe('finalize');
    expect(savedStep(state({ phase: 'done', emitted: true }))).toBe('complete');
    expect(savedStep(state({ phase: 'waiting_funds' }))).toBe('save waiting_funds');
  });

  it('names only steps the table explains (or `save <phase>`)', () => {
    const defined = new Set(STEP_DEFINITIONS.map((d) => d.step));
    for (const phase of ['received', 'placing', 'placed'] as const) expect(defined.has(savedStep(state({ phase })))).toBe(true);
  });
});
