import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnFleetProcess, type SpawnFleetProcessOptions } from '../../src/dev/fleet-process.js';

const dir = mkdtempSync(join(tmpdir(), 'vf-fleet-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for the CLI: one 20 000-character line, then the ready line, then it waits to be stopped. */
const script = join(dir, 'long-line.mjs');
writeFileSync(script, "process.stdout.write('x'.repeat(20000) + '\\nready\\n'); setInterval(() => {}, 1000);\n");

async function run(extra: Partial<SpawnFleetProcessOptions>): Promise<string[]> {
  const seen: string[] = [];
  const proc = await spawnFleetProcess({
    name: 'long-1',
    role: 'worker',
    cliPath: script,
    env: {},
    readyPattern: /^ready$/,
    readyTimeoutMs: 10_000,
    keepLines: 10,
    onLine: (_p, line) => seen.push(line),
    ...extra,
  });
  expect(await proc.stop('SIGTERM')).toBe('SIGTERM');
  return seen;
}

describe('a fleet process that prints a very long line', () => {
  it('cuts it at 8192 characters by default', async () => {
    const [first] = await run({});
    expect(first).toBe(`${'x'.repeat(8192)}…`);
  });

  it('keeps it whole when the caller asks for every character', async () => {
    const seen = await run({ maxLineChars: Number.POSITIVE_INFINITY });
    expect(seen).toEqual(['x'.repeat(20000), 'ready']);
  });
});
