import { describe, expect, it } from 'vitest';
import { benchIntents } from '../../../tools/bench/bench-intents.js';
import { BENCH_LOG_LEVEL, BENCH_MODES, WEBHOOK_SAFETY_POLL_MS, benchModeSetup, benchSandboxOptions, parseBenchModes } from '../../../tools/bench/bench-modes.js';
import { parseIntent } from '../../../src/lifecycle/intent.js';

describe('parseBenchModes', () => {
  it('keeps the order given and trims spaces', () => {
    expect(parseBenchModes('realistic, webhook')).toEqual(['realistic', 'webhook']);
  });

  it('refuses an unknown mode, naming it', () => {
    expect(() => parseBenchModes('webhook,turbo')).toThrow(/unknown mode "turbo"/);
  });

  it('refuses a mode given twice and an empty list', () => {
    expect(() => parseBenchModes('polling,polling')).toThrow(/given twice/);
    expect(() => parseBenchModes(' , ')).toThrow(/one or more/);
  });
});

describe('benchModeSetup', () => {
  it('runs webhook mode with a receiver, instant fulfilment, and only concurrency, log level and the safety-net poll changed', () => {
    const setup = benchModeSetup('webhook', 64);
    expect(setup.receiver).toBe(true);
    expect(setup.fulfilment).toEqual({ minMs: 0, maxMs: 0 });
    expect(setup.env).toEqual({ WORKER_CONCURRENCY: '64', LOG_LEVEL: BENCH_LOG_LEVEL, POLL_WEBHOOK_DELAY_MS: String(WEBHOOK_SAFETY_POLL_MS) });
  });

  it('runs polling mode without a receiver and with a short first poll', () => {
    const setup = benchModeSetup('polling', 8);
    expect(setup.receiver).toBe(false);
    expect(setup.fulfilment).toEqual({ minMs: 0, maxMs: 0 });
    expect(setup.env).toEqual({ WORKER_CONCURRENCY: '8', LOG_LEVEL: BENCH_LOG_LEVEL, POLL_INITIAL_DELAY_MS: '200' });
  });

  it('runs realistic mode with a receiver and fulfilment spread over 200–2000 ms', () => {
    const setup = benchModeSetup('realistic', 64);
    expect(setup.receiver).toBe(true);
    expect(setup.fulfilment).toEqual({ minMs: 200, maxMs: 2_000 });
  });

  it('documents every mode’s choices for the report', () => {
    for (const mode of BENCH_MODES) expect(benchModeSetup(mode, 64).notes.length).toBeGreaterThan(0);
  });

  it('gives the sandbox no faults and a balance no run can spend', () => {
    const options = benchSandboxOptions(benchModeSetup('webhook', 64), 5);
    expect(options.faults).toBeUndefined();
    expect(options.seed).toBe(5);
    expect(options.initialBalance).toBeGreaterThanOrEqual(1_000_000_000);
  });

  it('sells the sample items with unlimited stock, so a long run never sells out', () => {
    const catalog = benchSandboxOptions(benchModeSetup('webhook', 64), 5).catalog;
    expect(catalog?.get(4090)?.stock).toBeNull();
    expect(catalog?.get(5100)?.productType).toBe('topup');
  });
});

describe('benchIntents', () => {
  it('makes valid intents with distinct merchant_order_ids, mostly key item 4090, some top-ups and services', () => {
    const intents = benchIntents(200, 'bench-x');
    expect(intents).toHaveLength(200);
    expect(new Set(intents.map((i) => i.merchant_order_id)).size).toBe(200);
    for (const intent of intents) expect(parseIntent(intent).kind).toBe('ok');
    const byItem = (id: number): number => intents.filter((i) => i.item_id === id).length;
    expect(byItem(4090)).toBe(180);
    expect(byItem(5100)).toBe(10);
    expect(byItem(6200)).toBe(10);
  });

  it('is the same batch for the same prefix', () => {
    expect(benchIntents(30, 'p')).toEqual(benchIntents(30, 'p'));
  });

  it('makes a long run batch by batch: a batch from `start` is that slice of the whole', () => {
    expect(benchIntents(25, 'p', 15)).toEqual(benchIntents(40, 'p').slice(15));
    expect(benchIntents(1, 'p', 7)[0]?.merchant_order_id).toBe('p-7');
  });
});
