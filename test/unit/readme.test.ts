import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { buildProgram } from '../../src/cli/program.js';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config/config.js';
import { buildToolsProgram } from '../../tools/cli/program.js';
import type { BenchReport } from '../../tools/bench/bench-report.js';
import { renderReadmeBenchTable, replaceReadmeBenchTable } from '../../tools/bench/readme-table.js';

const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
const scripts = (JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** The commands a program's help lists (hidden ones left out). */
function visibleCommands(program: Command): string[] {
  const help = program.helpInformation();
  return program.commands.map((c) => c.name()).filter((name) => new RegExp(`^  ${name}\\b`, 'm').test(help));
}

/** The commands the README's CLI block lists as `voodoo-fulfillment <command>`, and as `npm run <tool>`. */
function cliBlock(): { product: string[]; tools: string[] } {
  const start = readme.indexOf('## CLI\n');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  return {
    product: [...section.matchAll(/^voodoo-fulfillment (\S+)/gm)].map((m) => m[1] ?? ''),
    tools: [...section.matchAll(/^npm run (\S+)/gm)].map((m) => m[1] ?? ''),
  };
}

/** Every metric the product registers, read from its source: name → type and label names. */
function registeredMetrics(): Map<string, { type: string; labels: string[] }> {
  const metrics = new Map<string, { type: string; labels: string[] }>();
  const dir = fileURLToPath(new URL('../../src/metrics/', import.meta.url));
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(join(dir, file), 'utf8');
    // Each metric is one `new Counter|Gauge|Histogram({ name, help, labelNames?, … registers })`.
    for (const match of source.matchAll(/new (Counter|Gauge|Histogram)\(\{\s*name: '([a-z_]+)',([\s\S]*?)registers/g)) {
      const labels = /labelNames: \[([^\]]*)\]/.exec(match[3] ?? '')?.[1] ?? '';
      metrics.set(match[2] ?? '', { type: (match[1] ?? '').toLowerCase(), labels: [...labels.matchAll(/'([a-z_]+)'/g)].map((m) => m[1] ?? '') });
    }
  }
  return metrics;
}

/** The README's metrics table rows (under "### Metrics"): name → type and label names. */
function metricsTable(): Map<string, { type: string; labels: string[] }> {
  const start = readme.indexOf('### Metrics\n');
  const section = readme.slice(start, readme.indexOf('\n## ', start));
  const rows = new Map<string, { type: string; labels: string[] }>();
  for (const match of section.matchAll(/^\| `([a-z_]+)` \| (\w+) \| ([^|]+) \|/gm)) {
    rows.set(match[1] ?? '', { type: match[2] ?? '', labels: [...(match[3] ?? '').matchAll(/`([a-z_]+)`/g)].map((m) => m[1] ?? '') });
  }
  return rows;
}

/** The README's configuration table rows: variable → default cell. */
function configRows(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const match of readme.matchAll(/^\| `([A-Z_]+)` \| ([^|]+) \|/gm)) {
    if (match[1] !== undefined && match[2] !== undefined) rows.set(match[1], match[2].trim());
  }
  return rows;
}

describe('the README', () => {
  it('lists every configuration variable with its real default', () => {
    const rows = configRows();
    const defaults = loadConfig({});
    for (const variable of CONFIG_VARIABLES) {
      expect(rows.has(variable), `${variable} missing from the README's config table`).toBe(true);
      const value = defaults[variable];
      // A parsed list (REDIS_CLUSTER_NODES) has no default today; were it given one, it would read as JSON.
      if (value !== undefined) expect(rows.get(variable), variable).toBe(`\`${typeof value === 'object' ? JSON.stringify(value) : String(value)}\``);
    }
    expect([...rows.keys()].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it('lists exactly the commands of the shipped CLI as voodoo-fulfillment commands', () => {
    const visible = visibleCommands(buildProgram());
    expect(visible).toContain('worker');
    expect(cliBlock().product).toEqual(visible);
  });

  it('lists the development tools as npm scripts that run them from tools/, never as voodoo-fulfillment commands', () => {
    const tools = visibleCommands(buildToolsProgram());
    expect(tools).toEqual(['demo', 'bench', 'chaos']);
    expect(cliBlock().tools).toEqual(tools);
    for (const name of tools) {
      expect(readme).not.toContain(`voodoo-fulfillment ${name} `);
      expect(readme).not.toContain(`dist/cli.js ${name}`);
      expect(scripts[name]).toBe(`npm run build && tsx tools/cli.ts ${name}`);
    }
    // No command lives in both: the product's CLI ships none of the tools.
    const product = new Set(buildProgram().commands.map((c) => c.name()));
    for (const command of buildToolsProgram().commands) expect(product.has(command.name()), command.name()).toBe(false);
  });

  it('lists every metric the product registers, with its type and labels, and no other', () => {
    const registered = registeredMetrics();
    // The scan itself found the metrics (a broken pattern would make this test pass vacuously).
    expect(registered.get('voodoo_results_total')).toEqual({ type: 'counter', labels: ['status', 'source'] });
    expect(registered.size).toBeGreaterThanOrEqual(18);
    expect(Object.fromEntries(metricsTable())).toEqual(Object.fromEntries(registered));
  });

  it('shows the bench table generated from the saved report (bench/results/latest.json), not a hand-copied one', () => {
    const report = JSON.parse(readFileSync(fileURLToPath(new URL('../../bench/results/latest.json', import.meta.url)), 'utf8')) as BenchReport;
    const table = renderReadmeBenchTable(report);
    expect(table).toContain(`| webhook (instant fulfilment) | ${report.modes.find((m) => m.mode === 'webhook')?.ordersPerSecond ?? '?'} |`);
    expect(replaceReadmeBenchTable(readme, table)).toBe(readme);
  });

  it('gives the test command CI runs', () => {
    expect(readme).toContain('npm test');
    expect(readFileSync(fileURLToPath(new URL('../../.ci/run', import.meta.url)), 'utf8')).toContain('npm test');
  });

  it('lists every shipped alert, and the pinned images the compose files and the Dockerfile use', () => {
    const read = (path: string): string => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');
    const rules = parse(read('deploy/prometheus/alerts.yml')) as { groups: { rules: { alert?: string }[] }[] };
    const alerts = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert === undefined ? [] : [r.alert])));
    const start = readme.indexOf('### Alerts and dashboards\n');
    const section = readme.slice(start, readme.indexOf('\n### ', start + 1));
    expect([...section.matchAll(/^\| `(Voodoo\w+)` \|/gm)].map((m) => m[1])).toEqual(alerts);
    const compose = parse(read('docker-compose.services.yml')) as { services: Record<string, { image?: string }> };
    const images = Object.values(compose.services).flatMap((s) => (s.image === undefined ? [] : [s.image]));
    images.push(/^ARG NODE_IMAGE=(\S+)$/m.exec(read('Dockerfile'))?.[1] ?? 'no NODE_IMAGE in the Dockerfile');
    expect(images.length).toBeGreaterThanOrEqual(4);
    for (const image of images) expect(readme).toContain(`\`${image}\``);
  });
});
