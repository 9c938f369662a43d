import { describe, expect, it } from 'vitest';
import { runCli } from '../support/run-cli.js';

/** The JSON log lines of a run's stdout. */
function logLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

// No Redis needed: without VOODOO_API_KEY the worker stops right after reading its config.
describe('a process started with the deprecated POLL_TIMEOUT_MS', () => {
  // That the old name's value is the one used is unit-tested (test/unit/config.test.ts); here the process
  // stops right after its config (no VOODOO_API_KEY), so only the warning is observable.
  it('logs one warning naming it and RESOLVE_TIMEOUT_MS', async () => {
    const run = await runCli(['worker'], { POLL_TIMEOUT_MS: '5000', LOG_LEVEL: 'info' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('VOODOO_API_KEY: is required by this process');
    const warnings = logLines(run.stdout).filter((line) => line.variable === 'POLL_TIMEOUT_MS');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, variable: 'POLL_TIMEOUT_MS', replacement: 'RESOLVE_TIMEOUT_MS', process: 'worker' });
    expect(String(warnings[0]?.msg)).toMatch(/POLL_TIMEOUT_MS.*RESOLVE_TIMEOUT_MS/);
  });

  it('stops with a config error naming POLL_TIMEOUT_MS when RESOLVE_TIMEOUT_MS is set too', async () => {
    const run = await runCli(['worker'], { POLL_TIMEOUT_MS: '5000', RESOLVE_TIMEOUT_MS: '5000', VOODOO_API_KEY: 'ak_test_key_0001' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^POLL_TIMEOUT_MS: .*RESOLVE_TIMEOUT_MS/m);
    expect(run.stdout).toBe('');
  });

  it('says nothing when only RESOLVE_TIMEOUT_MS is set', async () => {
    const run = await runCli(['worker'], { RESOLVE_TIMEOUT_MS: '5000', LOG_LEVEL: 'info' });
    expect(run.code).toBe(1);
    expect(run.stdout).not.toContain('POLL_TIMEOUT_MS');
  });
});
