import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../deploy/docker/healthcheck.js', import.meta.url));

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  if (server?.listening) await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A server that answers /readyz with `status` (and 404 elsewhere); resolves with its port. */
async function readyzServer(status: number): Promise<number> {
  server = createServer((req, res) => {
    res.writeHead(req.url === '/readyz' ? status : 404, { 'content-type': 'application/json', connection: 'close' });
    res.end(status === 200 ? '{"ready":true}' : '{"ready":false,"reasons":["redis: no answer to PING"]}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Run the image's healthcheck for `role` with `env`; resolves with its exit code and stderr. */
function healthcheck(role: string, env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, role], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 15_000 }, (err, _stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stderr });
    });
  });
}

describe('the image healthcheck', () => {
  it('is healthy when the role answers 200 on /readyz at the port its variable names', async () => {
    const port = await readyzServer(200);
    expect(await healthcheck('webhook', { WEBHOOK_PORT: String(port) })).toEqual({ code: 0, stderr: '' });
    expect((await healthcheck('worker', { METRICS_PORT: String(port) })).code).toBe(0);
    expect((await healthcheck('dashboard', { DASHBOARD_PORT: String(port) })).code).toBe(0);
  });

  it('is unhealthy, saying why, when /readyz answers 503', async () => {
    const port = await readyzServer(503);
    const result = await healthcheck('worker', { METRICS_PORT: String(port) });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('answered 503');
    expect(result.stderr).toContain('redis: no answer to PING');
  });

  it('is unhealthy when nothing listens, or the port is not fixed', async () => {
    const port = await readyzServer(200);
    await new Promise((resolve) => server?.close(resolve));
    expect((await healthcheck('webhook', { WEBHOOK_PORT: String(port) })).code).toBe(1);
    const anyPort = await healthcheck('worker', { METRICS_PORT: '0' });
    expect(anyPort.code).toBe(1);
    expect(anyPort.stderr).toContain('no fixed port for worker');
  });
});
