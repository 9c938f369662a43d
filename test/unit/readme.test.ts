import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildCliProgram } from '../../src/cli/program.js';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config/config.js';

const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');

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
      if (value !== undefined) expect(rows.get(variable), variable).toBe(`\`${String(value)}\``);
    }
    expect([...rows.keys()].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it('documents every CLI command the help lists', async () => {
    // The tree `voodoo-fulfillment --help` shows: the product and the development commands.
    const program = await buildCliProgram(['node', 'voodoo-fulfillment', '--help']);
    const help = program.helpInformation();
    const visible = program.commands.map((c) => c.name()).filter((name) => new RegExp(`^  ${name}\\b`, 'm').test(help));
    expect(visible).toContain('worker');
    for (const name of visible) expect(readme).toContain(`voodoo-fulfillment ${name}`);
  });

  it('gives the test command CI runs', () => {
    expect(readme).toContain('npm test');
    expect(readFileSync(fileURLToPath(new URL('../../.ci/run', import.meta.url)), 'utf8')).toContain('npm test');
  });
});
