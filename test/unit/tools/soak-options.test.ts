import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { SOAK_DEFAULT_MAX_OUTSTANDING, soakSettings } from '../../../tools/bench/soak-options.js';
import { registerBenchCommand } from '../../../tools/cli/bench-command.js';
import { captureStream } from '../../support/capture-stream.js';

describe('soakSettings', () => {
  it('fills in the defaults: a mark every 10k, the bench fleet, at most 4000 outstanding', () => {
    expect(soakSettings({ orders: 100_000 })).toEqual({
      orders: 100_000,
      every: 10_000,
      workers: 2,
      concurrency: 64,
      batchSize: 1_000,
      maxOutstanding: SOAK_DEFAULT_MAX_OUTSTANDING,
      timeoutMs: 300_000,
      seed: 1,
    });
  });

  it('samples a run shorter than 10k once, at its end', () => {
    expect(soakSettings({ orders: 5_000 }).every).toBe(5_000);
  });

  it('raises the default outstanding bound to a batch larger than it', () => {
    expect(soakSettings({ orders: 100_000, batchSize: 6_000 }).maxOutstanding).toBe(6_000);
  });

  it('refuses a mark interval beyond the orders, a batch that never fits, and non-whole numbers', () => {
    expect(() => soakSettings({ orders: 2_000, every: 5_000 })).toThrow('--soak-every (5000) must be at most the soak\'s orders (2000)');
    expect(() => soakSettings({ orders: 2_000, every: 1_000, batchSize: 1_000, maxOutstanding: 500 })).toThrow('maxOutstanding (500) must be at least the batch size (1000)');
    expect(() => soakSettings({ orders: 0 })).toThrow('soak orders must be a whole number >= 1 (got 0)');
    expect(() => soakSettings({ orders: 1_000, every: 2.5 })).toThrow('soak every must be a whole number >= 1 (got 2.5)');
  });
});

describe('bench --soak options', () => {
  async function bench(...args: string[]): Promise<{ codes: number[]; err: string }> {
    const err = captureStream();
    const codes: number[] = [];
    const program = new Command('voodoo-fulfillment').exitOverride();
    registerBenchCommand(program, { out: captureStream().stream, err: err.stream, setExitCode: (code) => codes.push(code) });
    await program.parseAsync(['node', 'voodoo-fulfillment', 'bench', ...args]);
    return { codes, err: err.text() };
  }

  it('refuses --soak-every without --soak, --soak with --cluster, and --soak-every beyond --soak, before starting anything', async () => {
    expect(await bench('--soak-every', '1000')).toEqual({ codes: [1], err: 'bench failed: --soak-every needs --soak\n' });
    expect(await bench('--soak', '1000', '--cluster')).toEqual({ codes: [1], err: 'bench failed: --soak runs on one private redis-server: it does not take --cluster\n' });
    const beyond = await bench('--soak', '1000', '--soak-every', '2000');
    expect(beyond.codes).toEqual([1]);
    expect(beyond.err).toContain('--soak-every (2000) must be at most');
  });

  it('refuses a soak of no orders as a bad argument', async () => {
    await expect(bench('--soak', '0')).rejects.toThrow('expected a whole number in 1..10000000');
  });
});
