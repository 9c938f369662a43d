import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { checkResults } from '../../tools/checks/result-check.js';
import { startFleet, type Fleet } from '../../tools/fleet/fleet.js';
import { freePort } from '../../tools/fleet/private-redis.js';
import { enqueueOrders } from '../../src/queue/enqueue-order.js';
import { keyIntents } from '../support/pipeline.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pm2Bin = fileURLToPath(new URL('../../node_modules/pm2/bin/pm2', import.meta.url));

/** One app as `pm2 jlist` describes it. */
interface Pm2Process {
  name: string;
  pid: number;
  pm2_env: { status: string; restart_time: number; unstable_restarts: number; env?: Record<string, string> } & Record<string, unknown>;
}

let fleet: Fleet | undefined;
let pm2Home: string | undefined;
let shell: Record<string, string> = {};

afterEach(async () => {
  if (pm2Home !== undefined) {
    // Ends every process it still runs, then the daemon, whatever the test left behind.
    if (existsSync(join(pm2Home, 'pm2.pid'))) await pm2('kill').catch(() => undefined);
    rmSync(pm2Home, { recursive: true, force: true });
    pm2Home = undefined;
  }
  await fleet?.close();
  fleet = undefined;
});

/** Run the pm2 CLI of the devDependency as the operator's shell would, with this test's PM2_HOME. */
function pm2(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [pm2Bin, ...args], { cwd: root, env: { ...shell, PM2_HOME: pm2Home ?? '' }, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`pm2 ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function jlist(): Promise<Pm2Process[]> {
  const out = await pm2('jlist');
  const json = out.slice(out.indexOf('['));
  return (JSON.parse(json) as Pm2Process[]).sort((a, b) => a.name.localeCompare(b.name));
}

/** True while a process with this id exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A port p with p + 1 free too (two workers' metrics ports). */
async function twoFreePorts(): Promise<number> {
  for (;;) {
    const port = await freePort();
    const next = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port + 1, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (next) return port;
  }
}

/** Remote TCP ports of the connections a process holds (Linux: its socket inodes in /proc/net/tcp). */
function remotePorts(pid: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    const target = (() => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    })();
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined) inodes.add(inode);
  }
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const remote = fields[2];
      const inode = fields[9];
      if (remote === undefined || inode === undefined || !inodes.has(inode)) continue;
      ports.add(Number.parseInt(remote.split(':')[1] ?? '0', 16));
    }
  }
  return ports;
}

describe('when the fleet runs under PM2 with the shell environment', () => {
  it.runIf(existsSync('/proc/self/fd'))(
    "uses the shell's REDIS_URL, loses nothing across a reload mid-run, and leaves no process after stop and delete",
    async () => {
      const apiKey = 'ak_test_pm2_key_0123456789';
      const webhookSecret = 'whsec_test_pm2_secret_0123456789';
      fleet = await startFleet({
        redis: { mode: 'private' },
        label: 'pm2',
        workers: 0,
        webhook: 'later',
        sandbox: { apiKey, fulfilment: { minMs: 200, maxMs: 800 }, webhook: { secret: webhookSecret, retryGapMs: 200 } },
      });
      const redisPort = fleet.redisServer?.port ?? 0;
      expect(redisPort).toBeGreaterThan(0);
      expect(redisPort).not.toBe(6379);
      const metricsBase = await twoFreePorts();
      pm2Home = mkdtempSync(join(tmpdir(), 'voodoo-pm2-'));
      // What an operator exports before `pm2 start`: nothing else reaches PM2 (no HOME, no REDIS_URL of ours).
      shell = {
        PATH: process.env.PATH ?? '',
        HOME: pm2Home,
        REDIS_URL: fleet.redisUrl,
        QUEUE_PREFIX: fleet.prefix,
        VOODOO_API_URL: fleet.sandbox.url,
        VOODOO_API_KEY: apiKey,
        VOODOO_WEBHOOK_SECRET: webhookSecret,
        WEBHOOK_HOST: '127.0.0.1',
        METRICS_HOST: '127.0.0.1',
        WEBHOOK_PORT: new URL(fleet.webhookUrl).port,
        METRICS_PORT: String(metricsBase),
        WORKER_CONCURRENCY: '8',
        POLL_INITIAL_DELAY_MS: '100',
        POLL_WEBHOOK_DELAY_MS: '2000',
        POLL_MAX_DELAY_MS: '1000',
        RESOLVE_TIMEOUT_MS: '30000',
        HTTP_TIMEOUT_MS: '2000',
        BALANCE_CACHE_MS: '200',
        RETRY_BASE_DELAY_MS: '200',
        RETRY_MAX_DELAY_MS: '3000',
        LOG_LEVEL: 'warn',
      };

      await pm2('start', 'ecosystem.config.js');
      const started = await jlist();
      expect(started.map((p) => [p.name, p.pm2_env.status])).toEqual([
        ['voodoo-webhook', 'online'],
        ['voodoo-worker-0', 'online'],
        ['voodoo-worker-1', 'online'],
      ]);
      const workerPorts = (list: Pm2Process[]): unknown[] => list.filter((p) => p.name.startsWith('voodoo-worker')).map((p) => p.pm2_env.METRICS_PORT);
      expect(workerPorts(started)).toEqual([String(metricsBase), String(metricsBase + 1)]);
      for (const proc of started) expect(proc.pm2_env.REDIS_URL, proc.name).toBe(fleet.redisUrl);

      const intents = keyIntents('pm2', 200);
      await enqueueOrders(fleet.intents, intents);
      // Every process talks to the private Redis, none to 6379.
      for (const proc of started) {
        const ports = remotePorts(proc.pid);
        expect(ports.has(redisPort), proc.name).toBe(true);
        expect(ports.has(6379), proc.name).toBe(false);
      }

      // Mid-run: some results are in, most are not.
      let done = 0;
      while ((done = await fleet.resultCount()) < 20) await sleep(50);
      expect(done).toBeLessThan(intents.length);
      await pm2('reload', 'ecosystem.config.js');
      const reloaded = await jlist();
      for (const [i, proc] of reloaded.entries()) {
        expect(proc.pm2_env.status, proc.name).toBe('online');
        expect(proc.pm2_env.restart_time, proc.name).toBe(1);
        expect(proc.pm2_env.unstable_restarts, proc.name).toBe(0);
        expect(proc.pid, proc.name).not.toBe(started[i]?.pid);
        expect(alive(started[i]?.pid ?? 0), `${proc.name} old process`).toBe(false);
      }
      expect(workerPorts(reloaded)).toEqual([String(metricsBase), String(metricsBase + 1)]);

      const results = await fleet.waitForResults(intents.length, { timeoutMs: 90_000, failOnCrash: false });
      const check = checkResults({
        expected: intents.map((i) => i.merchant_order_id),
        results,
        resultJobs: await fleet.resultCount(),
        sandboxOrders: fleet.sandbox.orders(),
      });
      expect(check.problems).toEqual([]);
      expect([...results.values()].every((r) => r.status !== 'unresolved')).toBe(true);
      for (const proc of reloaded) expect(remotePorts(proc.pid).has(6379), proc.name).toBe(false);

      await pm2('stop', 'ecosystem.config.js');
      const stopped = await jlist();
      expect(stopped.map((p) => p.pm2_env.status)).toEqual(['stopped', 'stopped', 'stopped']);
      for (const proc of reloaded) expect(alive(proc.pid), proc.name).toBe(false);
      await pm2('delete', 'ecosystem.config.js');
      expect(await jlist()).toEqual([]);

      const daemon = Number(readFileSync(join(pm2Home, 'pm2.pid'), 'utf8'));
      expect(alive(daemon)).toBe(true);
      await pm2('kill');
      for (let i = 0; i < 100 && alive(daemon); i += 1) await sleep(50);
      expect(alive(daemon)).toBe(false);
    },
    180_000,
  );
});
