import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerDemoCommand } from '../../tools/cli/demo-command.js';
import type { DemoSummary } from '../../tools/demo/demo-summary.js';
import { redisUrl } from '../support/redis.js';
import { captureStream } from '../support/capture-stream.js';

describe('voodoo-fulfillment demo', () => {
  it('gives every merchant_order_id one result matching the faulty sandbox, prints the summary and exits 0', async () => {
    const out = captureStream();
    const err = captureStream();
    const exitCodes: number[] = [];
    let summary: DemoSummary | undefined;
    const program = new Command('voodoo-fulfillment').exitOverride();
    registerDemoCommand(program, {
      out: out.stream,
      err: err.stream,
      // The shared test Redis, so the demo starts no redis-server of its own.
      redisUrl: redisUrl(),
      setExitCode: (code) => exitCodes.push(code),
      onSummary: (s) => {
        summary = s;
      },
    });

    await program.parseAsync(['node', 'voodoo-fulfillment', 'demo', '--orders', '40', '--workers', '2', '--seed', '11']);

    expect(err.text()).toBe('');
    expect(exitCodes).toEqual([0]);
    if (summary === undefined) throw new Error('no summary');
    expect(summary.ok).toBe(true);
    expect(summary.problems).toEqual([]);
    // 40 intents, one of them a duplicate: 39 merchant_order_ids, each with exactly one result.
    expect(summary.intents).toBe(40);
    expect(summary.expected).toBe(39);
    expect(summary.results).toBe(summary.expected);
    const { completed, partial, failed, rejected, unresolved } = summary.byStatus;
    expect(completed + partial + failed + rejected + unresolved).toBe(summary.expected);
    // The five invalid intents (bad quantity ×2, unknown item, missing field, sold out) are rejected.
    expect(rejected).toBeGreaterThanOrEqual(5);
    expect(completed).toBeGreaterThan(0);
    expect(summary.placedOrders).toBeGreaterThanOrEqual(completed + partial + failed);
    expect(summary.callsPerPlacedOrder?.create).toBeGreaterThanOrEqual(1);
    expect(summary.timeToResultMs?.samples).toBe(summary.expected);

    const printed = out.text();
    expect(printed).toContain('running: Redis at redis://');
    expect(printed).toContain('results match the sandbox: yes');
    expect(printed).toMatch(/completed\s+\d+/);
    expect(printed).toMatch(/progress: 39\/39 results \(100%\)/);
    expect(printed).toContain('(enqueue → result resolved_at)');
  });
});
