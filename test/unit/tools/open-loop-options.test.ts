import { describe, expect, it } from 'vitest';
import { openLoopFileStem, openLoopPlan, parseRateList } from '../../../tools/bench/open-loop-options.js';
import { FleetError } from '../../../tools/fleet/fleet-error.js';

const none = new Set<string>();

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(FleetError);
    return (err as Error).message;
  }
  throw new Error('expected a FleetError');
}

describe('openLoopPlan', () => {
  it('is null (the burst bench) without --rate and --rates', () => {
    expect(openLoopPlan({ given: new Set(['--orders', '--modes']) })).toBeNull();
  });

  it('takes one rate with the defaults: 20 s, instant fulfilment, no faults', () => {
    expect(openLoopPlan({ rate: '200', given: none })).toEqual({ rates: [200], sweep: false, durationS: 20, warmUpS: 2, fulfilment: 'instant', faults: 'none' });
  });

  it('takes a sweep, run ascending, with every option', () => {
    const plan = openLoopPlan({ rates: '300, 100,200', duration: '5', warmUp: '3', fulfilment: 'realistic', faults: 'default', given: new Set(['--duration', '--warm-up']) });
    expect(plan).toEqual({ rates: [100, 200, 300], sweep: true, durationS: 5, warmUpS: 3, fulfilment: 'realistic', faults: 'default' });
  });

  it('refuses a warm-up that leaves nothing of the window, or is not whole seconds, naming --warm-up', () => {
    for (const warmUp of ['5', '0', '1.5', 'x']) {
      expect(refusal(() => openLoopPlan({ rate: '100', duration: '5', warmUp, given: new Set(['--duration', '--warm-up']) }))).toContain('--warm-up');
    }
    expect(refusal(() => openLoopPlan({ warmUp: '3', given: new Set(['--warm-up']) }))).toContain('--warm-up needs --rate or --rates');
  });

  it('refuses --rate with --rates', () => {
    expect(refusal(() => openLoopPlan({ rate: '100', rates: '100,200', given: none }))).toContain('--rate and --rates');
  });

  it('refuses a burst-only option with a rate, naming it', () => {
    for (const flag of ['--orders', '--modes', '--batch-size', '--cluster', '--partitions', '--kill-primary']) {
      expect(refusal(() => openLoopPlan({ rate: '100', given: new Set([flag]) }))).toContain(flag);
    }
  });

  it('refuses an open-loop option without a rate, naming it', () => {
    expect(refusal(() => openLoopPlan({ duration: '5', given: new Set(['--duration']) }))).toBe('--duration needs --rate or --rates');
    expect(refusal(() => openLoopPlan({ faults: 'default', given: new Set(['--faults']) }))).toBe('--faults needs --rate or --rates');
  });

  it('refuses bad values, naming the option', () => {
    expect(refusal(() => openLoopPlan({ rate: '0', given: none }))).toContain('--rate');
    expect(refusal(() => openLoopPlan({ rate: 'fast', given: none }))).toContain('--rate');
    expect(refusal(() => openLoopPlan({ rate: '100', duration: '2', given: none }))).toContain('--duration');
    expect(refusal(() => openLoopPlan({ rate: '100', duration: '4.5', given: none }))).toContain('--duration');
    expect(refusal(() => openLoopPlan({ rate: '100', fulfilment: 'slow', given: none }))).toContain('--fulfilment expects instant or realistic');
    expect(refusal(() => openLoopPlan({ rate: '100', faults: 'all', given: none }))).toContain('--faults expects none or default');
  });
});

describe('parseRateList', () => {
  it('refuses an empty list, a bad rate and a repeated one', () => {
    expect(refusal(() => parseRateList(''))).toContain('--rates');
    expect(refusal(() => parseRateList('100,,200'))).toContain('--rates');
    expect(refusal(() => parseRateList('100,-5'))).toContain('--rates');
    expect(refusal(() => parseRateList('100,200,100'))).toBe('--rates lists 100 twice');
  });

  it('takes decimal rates', () => {
    expect(parseRateList('0.5,12.5')).toEqual([0.5, 12.5]);
  });
});

describe('openLoopFileStem', () => {
  it('joins the rates with dashes', () => {
    expect(openLoopFileStem([200])).toBe('open-loop-200');
    expect(openLoopFileStem([100, 300, 500])).toBe('open-loop-100-300-500');
  });
});
