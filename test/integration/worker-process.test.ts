import { Worker } from 'bullmq';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { startWorkerProcess } from '../../src/worker/worker-process.js';
import { connectRedis, deleteKeys, redisUrl, uniquePrefix } from '../support/redis.js';

/** What the BullMQ worker looked like when run() was called. */
interface AtRun {
  autorun: boolean | undefined;
  failedListeners: number;
  errorListeners: number;
}

function setUp(): { prefix: string; lines: string[]; logger: ReturnType<typeof createLogger>; config: ReturnType<typeof loadConfig> } {
  const prefix = uniquePrefix('wp');
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
  // Nothing is enqueued, so the API is never called: the URL only has to be valid.
  const config = loadConfig({ REDIS_URL: redisUrl(), QUEUE_PREFIX: prefix, VOODOO_API_KEY: 'ak_worker_process_test', VOODOO_API_URL: 'http://127.0.0.1:9', METRICS_PORT: '0' });
  return { prefix, lines, logger, config };
}

describe('startWorkerProcess', () => {
  const prefixes: string[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    const redis = connectRedis();
    for (const prefix of prefixes.splice(0)) await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('creates the BullMQ worker without autorun and runs it once its listeners are on, before saying it started', async () => {
    const { prefix, lines, logger, config } = setUp();
    prefixes.push(prefix);
    const seen: AtRun[] = [];
    let linesAtRun = -1;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the worker as `this`
    const run = Worker.prototype.run;
    vi.spyOn(Worker.prototype, 'run').mockImplementation(function (this: Worker) {
      seen.push({ autorun: this.opts.autorun, failedListeners: this.listenerCount('failed'), errorListeners: this.listenerCount('error') });
      linesAtRun = lines.length;
      return run.call(this);
    });
    const worker = await startWorkerProcess(config, logger);
    let stopped = false;
    try {
      void worker.stopped.then(() => (stopped = true));
      expect(seen).toEqual([{ autorun: false, failedListeners: 1, errorListeners: 1 }]);
      expect(lines.slice(linesAtRun).some((line) => line.includes('"worker started"'))).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(stopped).toBe(false);
    } finally {
      await worker.close();
    }
    await expect(worker.stopped).resolves.toBeUndefined();
  });

  it('logs a failure of the worker main loop at fatal and rejects `stopped` with it', async () => {
    const { prefix, lines, logger, config } = setUp();
    prefixes.push(prefix);
    const boom = new Error('main loop failed');
    vi.spyOn(Worker.prototype, 'run').mockRejectedValue(boom);
    const worker = await startWorkerProcess(config, logger);
    try {
      await expect(worker.stopped).rejects.toBe(boom);
      await new Promise((resolve) => setImmediate(resolve));
      const fatal = lines.map((line) => JSON.parse(line) as { level: number; msg: string; err?: { message: string } }).find((line) => line.level === 60);
      expect(fatal).toMatchObject({ msg: 'the worker stopped taking jobs', err: { message: 'main loop failed' } });
    } finally {
      await worker.close();
    }
  });
});
