import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matching, MODULE_RECORDER, packagesOf, recordedModules } from '../support/module-record.js';
import { connectRedis, deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';

const REPO = pathToFileURL(fileURLToPath(new URL('../../', import.meta.url))).href;
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** What `worker` must not load: servers, the dashboard, progress bars, LMDB, the sandbox and the development tools. */
const NOT_FOR_THE_WORKER = [
  /\/node_modules\/fastify\//,
  /\/node_modules\/@bull-board\//,
  /\/node_modules\/cli-progress\//,
  /\/node_modules\/(@lmdb|lmdb)\//,
  new RegExp(`^${REPO}dist/(sandbox|bench|chaos|dev)/`),
  new RegExp(`^${REPO}dist/sandbox\\.js`),
  new RegExp(`^${REPO}dist/cli/(dev-commands|demo-command|bench-command|chaos-command)\\.js`),
  new RegExp(`^${REPO}tools/`),
];

let dir = '';
const prefix = uniquePrefix('lazy-cli');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vf-worker-modules-'));
});

afterAll(async () => {
  const redis = connectRedis();
  await deleteKeys(redis, prefix);
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

/** Start `node dist/cli.js worker` recording its modules; SIGTERM it once it says it started; how it ended and its log lines. */
function runWorkerUntilStarted(record: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', MODULE_RECORDER, CLI, 'worker'], {
      env: {
        PATH: process.env.PATH ?? '',
        MODULE_RECORD_FILE: record,
        REDIS_URL: redisUrl(),
        QUEUE_PREFIX: prefix,
        VOODOO_API_KEY: 'ak_test_worker_modules_0123456789',
        // Never called: the worker calls the API only for a job, and no job is enqueued.
        VOODOO_API_URL: 'http://127.0.0.1:9',
        METRICS_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let buffered = '';
    let signalled = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (!signalled && line.includes('"msg":"worker started"')) {
          signalled = true;
          child.kill('SIGTERM');
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => lines.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, lines: buffered === '' ? lines : [...lines, buffered] });
    });
  });
}

describe('voodoo-fulfillment worker', () => {
  it('loads only what it runs: no HTTP server, dashboard, progress bar, LMDB, sandbox or development tool', async () => {
    const record = join(dir, 'worker.modules');
    const run = await runWorkerUntilStarted(record);
    expect(run.lines.some((line) => line.includes('"msg":"worker started"')), run.lines.join('\n')).toBe(true);
    // Stopped by its own SIGTERM handler (the record's CommonJS part is written on a clean exit).
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null });

    const modules = await recordedModules(record);
    expect(modules, 'the record holds the worker').toContain(`${REPO}dist/worker/worker-process.js`);
    expect(packagesOf(modules)).toEqual(expect.arrayContaining(['bullmq', 'ioredis', 'pino']));
    // The API client speaks node:http itself (src/api/http-transport.ts): got is not loaded.
    expect(packagesOf(modules)).not.toContain('got');
    expect(matching(modules, NOT_FOR_THE_WORKER)).toEqual([]);
  });
});
