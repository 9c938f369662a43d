import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A redis-server child process owned by the caller (tests, demo, bench). */
export interface PrivateRedis {
  url: string;
  port: number;
  /** Stop the server (SIGKILL-free: SHUTDOWN NOSAVE semantics via SIGTERM). Resolves when it exited. */
  stop(): Promise<void>;
  /** Restart on the same port and directory (AOF data survives when `appendOnly` was set). */
  restart(): Promise<void>;
  /** Freeze the server (SIGSTOP): connections stay open and nothing answers, as with a hung host. */
  freeze(): void;
  /** Let a frozen server run again (SIGCONT). */
  thaw(): void;
  /** Stop and remove the data directory. */
  destroy(): Promise<void>;
}

/** Options of {@link startPrivateRedis}. */
export interface PrivateRedisOptions {
  /** Persist with AOF (everysec) so a restart keeps the data. Default false. */
  appendOnly?: boolean;
  /** Port to bind; a free one when omitted. */
  port?: number;
  /** More `redis-server` arguments (e.g. `['--maxmemory-policy', 'allkeys-lru']` for a test of the startup checks). */
  extraArgs?: readonly string[];
}

/** True when `redis-server` is on PATH. */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Where {@link freePort} looks: below Linux's default ephemeral range (32768–60999). */
const PORT_RANGE = { from: 10_000, to: 32_000 } as const;

function listensFreely(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port nothing listens on right now, for a server started a moment later. Not one the OS
 * hands out (port 0): that one comes from the ephemeral range, where the many outgoing connections
 * of a busy test run pick their local ports too, and one may take it before the server listens
 * (seen as EADDRINUSE of a receiver started seconds later under PM2).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from));
    if (await listensFreely(port)) return port;
  }
  throw new Error(`no free port between ${PORT_RANGE.from} and ${PORT_RANGE.to} after 200 tries`);
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = AbortSignal.timeout(timeoutMs);
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (deadline.aborted) throw new Error(`redis-server did not listen on port ${port} within ${timeoutMs} ms`);
    await sleep(25);
  }
}

/**
 * Start a redis-server from PATH on a free port with its own temp directory. Throws with an install
 * hint when redis-server is missing.
 */
export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  if (!hasRedisServer()) {
    throw new Error('redis-server is not on PATH: install it (Debian/Ubuntu: apt-get install redis-server) or set REDIS_URL');
  }
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'voodoo-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no'];
  args.push('--appendonly', options.appendOnly ? 'yes' : 'no');
  if (options.appendOnly) args.push('--appendfsync', 'everysec');
  args.push(...(options.extraArgs ?? []));
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    const proc = spawn('redis-server', args, { stdio: 'ignore' });
    child = proc;
    await waitForPort(port, 10_000);
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    // exitCode stays null for a process ended by a signal: check both, or we would wait forever.
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
      // A frozen server would hold the SIGTERM until it runs again.
      proc.kill('SIGCONT');
    });
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
    destroy: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
