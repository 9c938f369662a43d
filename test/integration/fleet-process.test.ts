import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnFleetProcess } from '../../tools/fleet/fleet-process.js';

const dir = mkdtempSync(join(tmpdir(), 'vf-fleet-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for the CLI: one 20 000-character line, then the ready line, then it waits to be stopped. */
const script = join(dir, 'long-line.mjs');
writeFileSync(script, "process.stdout.write('x'.repeat(20000) + '\\nready\\n'); setInterval(() => {}, 1000);\n");

describe('a fleet process that prints a very long line', () => {
  it('hands the whole line to onLine (a log scan sees every character) but keeps a cut copy', async () => {
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
    });
    expect(await proc.stop('SIGTERM')).toBe('SIGTERM');
    expect(seen).toEqual(['x'.repeat(20000), 'ready']);
    expect(proc.lines()).toEqual([`${'x'.repeat(8192)}…`, 'ready']);
  });
});
