import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dir = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url));

/** promtool's exit code and output; a missing promtool fails the test (.ci/run installs Debian's `prometheus`). */
async function promtool(args: string[], cwd = dir): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd, timeout: 30_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const failure = err as NodeJS.ErrnoException & { code?: number | string; stdout?: string; stderr?: string };
    if (failure.code === 'ENOENT') throw new Error('promtool is not on PATH: install it (Debian/Ubuntu: apt-get install prometheus)', { cause: err });
    return { code: typeof failure.code === 'number' ? failure.code : -1, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  }
}

describe('the shipped Prometheus files', () => {
  it('are rules promtool accepts', async () => {
    const result = await promtool(['check', 'rules', 'alerts.yml']);
    expect(result.output).toContain('SUCCESS');
    expect(result.code, result.output).toBe(0);
  });

  it('pass their unit tests: every alert fires when it should and stays silent when it should not', async () => {
    const result = await promtool(['test', 'rules', 'alerts.test.yml']);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('SUCCESS');
  });

  it('are a scrape configuration promtool accepts, loading the alert rules', async () => {
    const result = await promtool(['check', 'config', 'prometheus.yml']);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/SUCCESS: 1 rule files found/);
  });

  it('have unit tests that catch an alert paging too early', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'voodoo-alerts-'));
    try {
      cpSync(dir, copy, { recursive: true });
      const rules = readFileSync(join(copy, 'alerts.yml'), 'utf8');
      const early = rules.replace(/(expr: max\(voodoo_intents_waiting_for_funds\) > 0\n\s+for: )15m/, (_match, head: string) => `${head}5m`);
      expect(early).not.toBe(rules);
      writeFileSync(join(copy, 'alerts.yml'), early);
      const result = await promtool(['test', 'rules', 'alerts.test.yml'], copy);
      expect(result.code).not.toBe(0);
      expect(result.output).toContain('alertname: VoodooFundsShort');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe('the shipped Grafana dashboard', () => {
  it('queries in PromQL that promtool parses', async () => {
    const dashboard = JSON.parse(readFileSync(fileURLToPath(new URL('../../deploy/grafana/voodoo-fulfillment.json', import.meta.url)), 'utf8')) as {
      panels: { targets?: { expr?: string }[] }[];
    };
    const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => (t.expr === undefined ? [] : [t.expr])));
    // Each query as a recording rule, Grafana's $__rate_interval as a plain range.
    const rules = queries.map((expr, i) => ({ record: `dashboard:query_${i}`, expr: expr.replaceAll('$__rate_interval', '5m') }));
    const copy = mkdtempSync(join(tmpdir(), 'voodoo-dashboard-'));
    try {
      writeFileSync(join(copy, 'queries.yml'), JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
      const result = await promtool(['check', 'rules', 'queries.yml'], copy);
      expect(result.code, result.output).toBe(0);
      expect(result.output).toContain(`SUCCESS: ${queries.length} rules found`);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
