import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerChaosCommand } from '../../tools/cli/chaos-command.js';
import { PASS_TEXT } from '../../tools/chaos/chaos-report.js';
import type { ChaosSummary } from '../../tools/chaos/chaos-summary.js';
import { captureStream } from '../support/capture-stream.js';

describe('voodoo-fulfillment chaos, short version', () => {
  it('loses no order, charges none twice, rejects every invalid intent in time and leaves unresolved only dropped webhooks, through API faults, 429 bursts, a worker SIGKILL and a Redis restart', async () => {
    const out = captureStream();
    const err = captureStream();
    const exitCodes: number[] = [];
    let summary: ChaosSummary | undefined;
    const program = new Command('voodoo-fulfillment').exitOverride();
    registerChaosCommand(program, {
      out: out.stream,
      err: err.stream,
      setExitCode: (code) => exitCodes.push(code),
      onSummary: (s) => {
        summary = s;
      },
    });

    await program.parseAsync([
      'node',
      'voodoo-fulfillment',
      'chaos',
      // The default kill cadence (every 1 s), cut to one kill to keep the test short.
      ...['--orders', '300', '--workers', '3', '--seed', '7', '--max-kills', '1'],
      // A shorter wait for the webhook of an ambiguous create keeps the test short; unresolved stays allowed.
      ...['--enqueue-per-second', '150', '--resolve-timeout-ms', '20000', '--timeout-ms', '90000'],
    ]);

    if (summary === undefined) throw new Error(`no summary; stderr: ${err.text()}`);
    expect(summary.problems).toEqual([]);
    expect(summary.ok).toBe(true);
    expect(exitCodes).toEqual([0]);
    expect(err.text()).toBe('');
    // 300 intents, three of them duplicates: one result per merchant_order_id.
    expect(summary.intents).toBe(300);
    expect(summary.results).toBe(summary.expected);
    expect(summary.maxOrdersPerMerchantOrderId).toBe(1);

    // 3 % invalid intents (unknown item, quantity out of range, missing field), refused by the API
    // itself (no catalog), all rejected within 60 s.
    expect(summary.plan.catalog).toBe(false);
    expect(summary.invalidIntents.intents).toBe(9);
    expect(summary.invalidIntents.rejectedInTime).toBe(9);
    expect(summary.invalidIntents.byCode).toEqual({ validation_error: 9 });
    expect(summary.byStatus.rejected).toBe(9);
    // Every unresolved result is an order whose webhook the sandbox dropped.
    expect(summary.unresolved).toEqual({ no_order: 0, webhook_dropped: summary.byStatus.unresolved, webhook_never_stored: 0, webhook_late: 0 });

    // The chaos did happen.
    expect(summary.actions.kills).toBe(1);
    expect(summary.actions.workerRestarts).toBe(1);
    expect(summary.actions.redisRestarts).toBe(1);
    const injected = Object.values(summary.faults).reduce((sum, n) => sum + n, 0);
    expect(injected).toBeGreaterThan(10);
    expect(summary.faults['create.unavailableBeforeCommit']).toBeGreaterThan(0);
    const afterCommit = ['create.badGatewayAfterCommit', 'create.resetAfterCommit', 'create.hangAfterCommit'].reduce((sum, name) => sum + (summary?.faults[name] ?? 0), 0);
    expect(afterCommit).toBeGreaterThan(0);
    expect(summary.ambiguousCreates).toBeGreaterThan(0);
    expect(summary.logLines).toBeGreaterThan(300);
    expect(summary.leaks).toBe(0);

    const printed = out.text();
    expect(printed).toContain('SIGKILL a worker every 1.0 s');
    expect(printed).toContain('workers without a catalog (invalid intents meet the API)');
    expect(printed).toMatch(/invalid intents\s+9 \(9 rejected within 60\.0 s: validation_error 9; slowest \d+\.\d s; \d+ after an ambiguous create\)/);
    expect(printed).toContain('redis: back after');
    expect(printed).toMatch(/kill: SIGKILL worker-\d/);
    expect(printed).toMatch(/worker kills \(SIGKILL\)\s+1 \(1 replacements started\)/);
    expect(printed).toContain('problems: 0');
    expect(printed).toContain(`verdict: ${PASS_TEXT}`);
  }, 120_000);
});
