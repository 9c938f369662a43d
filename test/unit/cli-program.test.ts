import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildCliProgram, buildProgram } from '../../src/cli/program.js';

const PRODUCT = ['worker', 'webhook', 'enqueue', 'status', 'dashboard', 'sandbox', 'catalog'];
const DEVELOPMENT = ['demo', 'bench', 'bench-noop-worker', 'chaos'];

function names(program: Command): string[] {
  return program.commands.map((command) => command.name());
}

describe('the CLI program', () => {
  it("gives package.json's version", () => {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(buildProgram().version()).toBe(manifest.version);
  });

  it('adds the development commands only when argv does not run a product command', async () => {
    for (const command of PRODUCT) expect(names(await buildCliProgram(['node', 'cli.js', command, '--help']))).toEqual(PRODUCT);
    // The help, the version, a development command and a mistyped name (whose suggestion may be one) see them all.
    for (const argv of [[], ['--help'], ['help'], ['--version'], ['demo'], ['bench-noop-worker'], ['wroker']]) {
      expect(names(await buildCliProgram(['node', 'cli.js', ...argv]))).toEqual([...PRODUCT, ...DEVELOPMENT]);
    }
  });
});
