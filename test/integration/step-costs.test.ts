import { describe, expect, it } from 'vitest';
import { EXPECTED_STEPS, runStepCosts } from '../../tools/bench/step-costs.js';
import { hasRedisServer } from '../../tools/fleet/private-redis.js';

const ORDERS = 3;

/**
 * The per-step tracer (issue 11, item 1) on the real components: every step an order in webhook
 * mode goes through shows commands, the claim is a script, and the steps add up to what Redis counted.
 * The tracer reads server-wide counters, so it runs its own redis-server (not the shared test one).
 */
describe.runIf(hasRedisServer())('the step tracer', () => {
  it('attributes every command of a few webhook-mode orders to a step', async () => {
    const report = await runStepCosts({ orders: ORDERS, modes: ['webhook'] });
    const [trace] = report.traces;
    if (trace === undefined) throw new Error('no trace');
    const { summary } = trace;
    expect(summary.orders).toBe(ORDERS);
    const step = (name: string) => {
      const found = summary.steps.find((s) => s.step === name);
      if (found === undefined) throw new Error(`no step ${name} in ${summary.steps.map((s) => s.step).join(', ')}`);
      return found;
    };

    for (const name of EXPECTED_STEPS.webhook) {
      expect(step(name).ranIn, name).toBe(ORDERS);
      // create's Redis work is the access token and the replica count, both cached in process: after
      // the first order it needs none.
      if (name !== 'create') expect(step(name).commands.median, name).toBeGreaterThan(0);
    }
    expect(step('claim').breakdown.map((c) => c.command)).toContain('evalsha');
    // The claim is one script: one command sent, several run.
    expect(step('claim').sent.median).toBe(1);
    expect(step('claim').commands.median).toBeGreaterThan(1);

    // Segments tile the run, so every order's commands add up to the whole run's delta…
    expect(summary.perOrder.commands.mean * ORDERS).toBeCloseTo(summary.wholeRun.commands, 0);
    // …and a typical order's total is the run's per-order figure, give or take the background.
    const background = ['other / background', 'idle fetch'].reduce((sum, name) => sum + (summary.steps.find((s) => s.step === name)?.commands.mean ?? 0), 0);
    const perOrder = summary.wholeRun.commands / ORDERS;
    expect(Math.abs(summary.perOrder.commands.median - perOrder)).toBeLessThanOrEqual(Math.max(background, 0.1 * perOrder));
  }, 20_000);
});
