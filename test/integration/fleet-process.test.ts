import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FleetError } from '../../tools/fleet/fleet-error.js';
import { spawnFleetProcess, type SpawnFleetProcessOptions } from '../../tools/fleet/fleet-process.js';

const dir = mkdtempSync(join(tmpdir(), 'vf-fleet-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** A stand-in for the CLI, written to a file; `cliPath` of the spawn. */
function standIn(name: string, source: string): string {
  const path = join(dir, name);
  writeFileSync(path, source);
  return path;
}

function spawn(cliPath: string, over: Partial<SpawnFleetProcessOptions> = {}) {
  return spawnFleetProcess({ name: 'proc-1', role: 'worker', cliPath, env: {}, readyTimeoutMs: 10_000, keepLines: 10, ...over });
}

describe('a fleet process', () => {
  it('is ready when it says so over IPC, whatever it prints', async () => {
    // Prints the worker's old ready message first: a line is never taken for readiness.
    const script = standIn(
      'ready-later.mjs',
      `process.stdout.write('{"msg":"worker started","event":"worker_started"}\\n');
       setTimeout(() => process.send('ready'), 300);
       setInterval(() => {}, 1000);\n`,
    );
    const startedAt = Date.now();
    const proc = await spawn(script);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(250);
    expect(proc.running).toBe(true);
    expect(await proc.stop('SIGTERM')).toBe('SIGTERM');
  });

  it('fails, killed, when it never says it is ready, with its last lines', async () => {
    const script = standIn('never-ready.mjs', `process.stdout.write('{"msg":"worker started"}\\nready\\n'); setInterval(() => {}, 1000);\n`);
    const failure = await spawn(script, { readyTimeoutMs: 500 }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(FleetError);
    expect((failure as FleetError).message).toBe('proc-1 was not ready within 500 ms; last lines:\n{"msg":"worker started"}\nready');
  });

  it('fails when it exits before it is ready', async () => {
    const script = standIn('exits.mjs', `console.error('boom'); process.exit(3);\n`);
    await expect(spawn(script)).rejects.toThrow('proc-1 exited (3) before it was ready; last lines:\nboom');
  });

  it('hands a very long line whole to onLine (a log scan sees every character) but keeps a cut copy', async () => {
    const script = standIn('long-line.mjs', "process.stdout.write('x'.repeat(20000) + '\\nok\\n', () => process.send('ready')); setInterval(() => {}, 1000);\n");
    const seen: string[] = [];
    const proc = await spawn(script, { name: 'long-1', onLine: (_p, line) => seen.push(line) });
    expect(await proc.stop('SIGTERM')).toBe('SIGTERM');
    expect(seen).toEqual(['x'.repeat(20000), 'ok']);
    expect(proc.lines()).toEqual([`${'x'.repeat(8192)}…`, 'ok']);
  });

  it('keeps every line whole with keepLines Infinity', async () => {
    const script = standIn('all-lines.mjs', "process.stdout.write('x'.repeat(20000) + '\\nok\\n', () => process.send('ready')); setInterval(() => {}, 1000);\n");
    const proc = await spawn(script, { name: 'all-1', keepLines: Number.POSITIVE_INFINITY });
    expect(await proc.stop('SIGTERM')).toBe('SIGTERM');
    expect(proc.lines()).toEqual(['x'.repeat(20000), 'ok']);
  });

  it('tells a process stopped on purpose from one that exited on its own', async () => {
    const stopped = await spawn(standIn('idle.mjs', "process.send('ready'); setInterval(() => {}, 1000);\n"));
    expect(stopped.stopRequested).toBe(false);
    await stopped.stop('SIGKILL');
    expect(stopped.stopRequested).toBe(true);

    const quitter = await spawn(standIn('quits.mjs', "process.send('ready', () => setTimeout(() => process.exit(0), 50));\n"), { name: 'proc-2' });
    await quitter.exited;
    // Stopping it afterwards does not make its exit intended.
    await quitter.stop('SIGTERM');
    expect(quitter.stopRequested).toBe(false);
  });

  it('SIGKILLs a process that ignores the stop signal past killAfterMs', async () => {
    const script = standIn('stubborn.mjs', "process.on('SIGTERM', () => {}); process.send('ready'); setInterval(() => {}, 1000);\n");
    const proc = await spawn(script);
    expect(await proc.stop('SIGTERM', 300)).toBe('SIGKILL');
  });

  it('runs the real sandbox command, which says it is ready over IPC once it listens', async () => {
    const proc = await spawn(CLI, {
      name: 'sandbox-1',
      command: 'sandbox',
      env: { PATH: process.env.PATH ?? '', VOODOO_API_KEY: 'ak_test_fleet_process_sandbox' },
      readyTimeoutMs: 30_000,
    });
    try {
      // Its stdout and its IPC channel are separate pipes: the line may come in just after 'ready'.
      const listening = (): string | undefined => proc.lines().find((line) => line.startsWith('sandbox listening on '));
      await expect.poll(listening, { timeout: 5_000 }).toBeDefined();
      const url = listening()?.slice('sandbox listening on '.length) ?? '';
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const stats = await fetch(`${url}/sandbox/stats`);
      expect(stats.status).toBe(200);
      await stats.text();
    } finally {
      // SIGTERM stops it gracefully: it exits 0 on its own.
      expect(await proc.stop('SIGTERM', 10_000)).toBe(0);
    }
  });
});
