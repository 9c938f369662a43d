import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';

const PRODUCT = ['worker', 'webhook', 'enqueue', 'status', 'resolve', 'dashboard', 'sandbox', 'catalog'];

function names(program: Command): string[] {
  return program.commands.map((command) => command.name());
}

describe('the CLI program', () => {
  it("gives package.json's version", () => {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(buildProgram().version()).toBe(manifest.version);
  });

  it('holds the product commands only (the development tools run from tools/)', () => {
    expect(names(buildProgram())).toEqual(PRODUCT);
  });
});
