import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { sampleCatalogPath } from '../../src/catalog/catalog-file.js';
import { registerSandboxCommand } from '../../src/cli/sandbox-command.js';
import type { SandboxStats } from '../../src/sandbox/sandbox-types.js';
import { call, eventually, token } from './sandbox-test-kit.js';

const API_KEY = 'ak_test_sandbox_cli';

/** A program with only the sandbox command, its output captured and its stop under the test's control. */
function harness() {
  const written: string[] = [];
  const errors: string[] = [];
  /** What `written` held each time the command said it was ready. */
  const readyAfter: string[][] = [];
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const program = new Command('voodoo-fulfillment')
    .exitOverride()
    .configureOutput({ writeOut: (s) => written.push(s), writeErr: (s) => errors.push(s) });
  registerSandboxCommand(program, { write: (text) => written.push(text), ready: () => readyAfter.push([...written]), untilStopped: () => stopped });
  const run = (...args: string[]) => program.parseAsync(['node', 'voodoo-fulfillment', 'sandbox', ...args, '--log-level', 'silent']);
  return { written, errors, readyAfter, stop, run };
}

async function listeningUrl(written: string[]): Promise<string> {
  return eventually(() => {
    const line = written.find((l) => l.startsWith('sandbox listening on '));
    return line?.trim().slice('sandbox listening on '.length);
  }, 5_000, 'the listening line');
}

describe('voodoo-fulfillment sandbox', () => {
  it('prints where it listens, serves the API with the given options, and stops cleanly', async () => {
    const h = harness();
    const running = h.run('--api-key', API_KEY, '--port', '0', '--balance', '50', '--min-fulfil-ms', '0', '--max-fulfil-ms', '0',
      '--outcomes', 'failed=1', '--seed', '5');
    const url = await listeningUrl(h.written);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(h.written).toEqual([`sandbox listening on ${url}\n`]);
    // Ready once, after it listens (the bin sends 'ready' over IPC then).
    expect(h.readyAfter).toEqual([[`sandbox listening on ${url}\n`]]);
    const accessToken = await token(url, API_KEY);
    expect((await call(url, 'GET', '/api/v1/account/balance', { token: accessToken })).body).toEqual({ balance: 50 });
    const created = (await call(url, 'POST', '/api/v1/orders', { token: accessToken, body: { item_id: 4090 } })).body as { id: string };
    await eventually(async () => {
      const order = (await call(url, 'GET', `/api/v1/orders/${created.id}`, { token: accessToken })).body as { status: string };
      return order.status === 'failed' ? true : undefined;
    }, 5_000, 'the order to fail');
    h.stop();
    await running;
    await expect(fetch(`${url}/sandbox/stats`)).rejects.toThrow();
  });

  it('reads faults from @file and sells from --catalog', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sandbox-cli-'));
    try {
      const faultsFile = join(dir, 'faults.json');
      await writeFile(faultsFile, JSON.stringify({ balance: { rateLimited: 1 }, retryAfterSeconds: 4 }));
      const h = harness();
      const running = h.run('--api-key', API_KEY, '--faults', `@${faultsFile}`, '--catalog', sampleCatalogPath());
      const url = await listeningUrl(h.written);
      const accessToken = await token(url, API_KEY);
      const balance = await call(url, 'GET', '/api/v1/account/balance', { token: accessToken });
      expect(balance.status).toBe(429);
      expect(balance.headers.get('retry-after')).toBe('4');
      const created = await call(url, 'POST', '/api/v1/orders', { token: accessToken, body: { item_id: 4090 } });
      expect(created.status).toBe(201);
      expect(((await call(url, 'GET', '/sandbox/stats')).body as SandboxStats).faults['balance.rateLimited']).toBe(1);
      h.stop();
      await running;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [['--port', '70000'], '--port'],
    [['--port', 'eighty'], '--port'],
    [['--balance', '-1'], '--balance'],
    [['--outcomes', 'completed=8,lost=1'], '--outcomes'],
    [['--min-fulfil-ms', '1.5'], '--min-fulfil-ms'],
    [['--webhook-url', 'ftp://example.test/hook', '--webhook-secret', 'whsec_x'], '--webhook-url'],
    [['--log-level', 'chatty'], '--log-level'],
  ])('refuses %j with an error naming %s', async (args, option) => {
    const h = harness();
    const failure = await h.run('--api-key', API_KEY, ...args).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(CommanderError);
    expect(h.errors.join('')).toContain(option);
    expect(h.written).toEqual([]);
  });

  it.each([
    [['--faults', '{"create":{"resetAfterCommit":3}}'], '--faults.create.resetAfterCommit'],
    [['--faults', 'not json'], '--faults'],
    [['--faults', '@/nonexistent/faults.json'], '--faults'],
    [['--webhook-url', 'http://127.0.0.1:9/hook'], '--webhook-secret'],
    [['--min-fulfil-ms', '500', '--max-fulfil-ms', '100'], '--min-fulfil-ms'],
  ])('refuses %j with a config error naming %s, before listening', async (args, option) => {
    const h = harness();
    await expect(h.run('--api-key', API_KEY, ...args)).rejects.toThrow(option);
    expect(h.written).toEqual([]);
  });

  it('requires an API key', async () => {
    const saved = process.env.VOODOO_API_KEY;
    delete process.env.VOODOO_API_KEY;
    try {
      const h = harness();
      await expect(h.run()).rejects.toBeInstanceOf(CommanderError);
      expect(h.errors.join('')).toContain('--api-key');
    } finally {
      if (saved !== undefined) process.env.VOODOO_API_KEY = saved;
    }
  });
});
