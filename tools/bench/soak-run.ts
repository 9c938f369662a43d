import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { sampleCatalogPath } from '../../src/catalog/catalog-file.js';
import { ledgerRetention, loadConfig } from '../../src/config/config.js';
import type { OrderResult } from '../../src/lifecycle/order-state.js';
import { consumeResults } from '../../src/queue/consume-results.js';
import { enqueueOrders } from '../../src/queue/enqueue-order.js';
import { formatMs, formatSeconds, perSecond } from '../figures/run-figures.js';
import { FleetError } from '../fleet/fleet-error.js';
import { singleRedisOf, startFleet, type Fleet, type FleetProcess } from '../fleet/fleet.js';
import { hasRedisServer } from '../fleet/private-redis.js';
import { benchIntents } from './bench-intents.js';
import { benchModeSetup, benchSandboxOptions } from './bench-modes.js';
import { writeAtomically } from './bench-output.js';
import { machineInfo } from './machine-info.js';
import { fetchHeapUsedBytes, metricsUrlOf } from './ops-heap.js';
import { readRssBytes } from './process-stats.js';
import { readUsedMemory } from './redis-memory.js';
import { readRedisVersion } from './redis-stats.js';
import { bytesPerFinishedOrder, dueMark, soakMarkPoints, windowRate } from './soak-marks.js';
import { soakSettings, type SoakOptions, type SoakSettings } from './soak-options.js';
import { renderSoakMarkdown, type ProcessMemory, type SoakMark, type SoakProcessRole, type SoakReport } from './soak-report.js';
import { SoakResultCheck } from './soak-result-check.js';
import { soakVerdict } from './soak-verdict.js';

export type { SoakOptions } from './soak-options.js';

/** What {@link runSoak} produced. */
export interface SoakRun {
  report: SoakReport;
  markdown: string;
  paths: { json: string; markdown: string };
}

/** merchant_order_ids are `soak-<index>`. */
const ID_PREFIX = 'soak';
/** How often the feed, the marks and the failure checks look, in ms. */
const LOOP_MS = 20;
const PROGRESS_GAP_MS = 5_000;
/** Result jobs the consumer takes at once per partition: it only records them, so a merchant's handler would be slower. */
const CONSUMER_CONCURRENCY = 50;
/** Name of the bench process in the marks: the sandbox, the feed and the result consumer run there. */
const BENCH_PROCESS = 'bench';

const ROLE_ORDER: Record<SoakProcessRole, number> = { worker: 0, webhook: 1, bench: 2 };

/** The fleet's running processes, workers first, then the receiver. */
function fleetProcesses(fleet: Fleet): FleetProcess[] {
  return fleet
    .processes()
    .filter((p) => p.running)
    .sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role] || a.name.localeCompare(b.name, 'en', { numeric: true }));
}

/** Samples every process and Redis; remembers where each process serves /metrics once it is known. */
class Sampler {
  private readonly metricsUrls = new Map<string, string>();

  constructor(
    private readonly fleet: Fleet,
    private readonly redis: Redis,
  ) {}

  private metricsUrl(proc: FleetProcess): string | null {
    const known = this.metricsUrls.get(proc.name);
    if (known !== undefined) return known;
    const url = metricsUrlOf(proc);
    if (url !== null) this.metricsUrls.set(proc.name, url);
    return url;
  }

  /** RSS of every process, read back to back (so at one moment), then the heaps and Redis. */
  async take(): Promise<{ processes: ProcessMemory[]; usedMemoryBytes: number; keys: number }> {
    const procs = fleetProcesses(this.fleet);
    const rss = procs.map((p) => readRssBytes(p.pid));
    const benchRss = readRssBytes(process.pid);
    const benchHeap = process.memoryUsage().heapUsed;
    const [heaps, usedMemoryBytes, keys] = await Promise.all([
      Promise.all(procs.map((p) => fetchHeapUsedBytes(this.metricsUrl(p)))),
      readUsedMemory(this.redis),
      this.redis.dbsize(),
    ]);
    const processes: ProcessMemory[] = procs.map((p, i) => ({ process: p.name, role: p.role, rssBytes: rss[i] ?? null, heapUsedBytes: heaps[i] ?? null }));
    processes.push({ process: BENCH_PROCESS, role: 'bench', rssBytes: benchRss, heapUsedBytes: benchHeap });
    return { processes, usedMemoryBytes, keys };
  }
}

function mb(bytes: number | null): string {
  return bytes === null ? 'n/a' : `${(bytes / (1024 * 1024)).toFixed(0)} MB`;
}

function markLine(m: SoakMark): string {
  const rss = m.processes.map((p) => `${p.process} ${mb(p.rssBytes)}`).join(', ');
  const rate = m.windowOrdersPerSecond === null ? '' : `, ${m.windowOrdersPerSecond.toFixed(0)} orders/s`;
  const perOrder = m.redis.bytesPerFinishedOrder === null ? '' : ` (${m.redis.bytesPerFinishedOrder} B/order)`;
  return `soak: mark ${m.mark}: ${m.results} results after ${formatSeconds(m.elapsedMs)}${rate}; RSS ${rss}; Redis ${mb(m.redis.usedMemoryBytes)}${perOrder}, ${m.redis.keys} keys`;
}

/**
 * `npm run bench -- --soak <orders>`: the webhook mode on a private redis-server for a long run,
 * fed in batches with a bounded number of intents outstanding and every result consumed as a
 * merchant would; every `every` results it samples each process's RSS (and heap) and Redis memory.
 * Judges the workers' RSS (flat within ±10 % from the 20 % mark to the end), checks every result
 * against the sandbox window by window, and writes `soak-<orders>.{json,md}`. A run that stops
 * early (a crash, no result for `timeoutMs`) is reported with the marks it took and a failed check;
 * a fleet that cannot start, or an abort, throws. Always stops everything it started.
 */
export async function runSoak(options: SoakOptions): Promise<SoakRun> {
  const s = soakSettings(options);
  const progress = options.onProgress ?? (() => undefined);
  if (!hasRedisServer()) {
    throw new FleetError('the soak needs redis-server on PATH (it always runs its own): apt-get install redis-server');
  }
  const catalogPath = sampleCatalogPath();
  const date = new Date().toISOString();
  const setup = benchModeSetup('webhook', s.concurrency);
  // The fleet runs with the production retention: what a finished order keeps in Redis is part of the figure.
  const retention = ledgerRetention(loadConfig(setup.env));
  const fleet = await startFleet({
    redis: { mode: 'private' },
    label: 'soak',
    workers: s.workers,
    webhook: true,
    sandbox: benchSandboxOptions(setup, s.seed),
    env: setup.env,
    ...(existsSync(catalogPath) ? { catalogPath } : {}),
    ...(options.cliPath === undefined ? {} : { cliPath: options.cliPath }),
  });
  let consumers: Worker<OrderResult>[] = [];
  try {
    const redis = singleRedisOf(fleet, 'the soak');
    const machine = machineInfo(await readRedisVersion(redis));
    const check = new SoakResultCheck(s.orders, ID_PREFIX);
    let lastResultAtMs = Date.now();
    // The merchant's side: take every result job (BullMQ completes it, and its own options keep it RETENTION_SECONDS).
    consumers = await consumeResults(
      (result, job) => {
        check.add(result, job.id);
        lastResultAtMs = Date.now();
        return Promise.resolve();
      },
      { connection: { url: fleet.redisUrl }, prefix: fleet.prefix, partitions: fleet.partitions, concurrency: CONSUMER_CONCURRENCY },
    );
    for (const consumer of consumers) consumer.on('error', () => undefined);
    await Promise.all(consumers.map((c) => c.waitUntilReady()));
    progress(
      `soak: ${s.orders} orders, a mark every ${s.every}, at most ${s.maxOutstanding} outstanding; ${s.workers} workers × ${s.concurrency}, ` +
        `private redis-server ${machine.redis}, QUEUE_PARTITIONS=${fleet.partitions}`,
    );

    const sampler = new Sampler(fleet, redis);
    const base = await sampler.take();
    const baseline: SoakMark = {
      mark: 0,
      results: 0,
      elapsedMs: 0,
      windowOrdersPerSecond: null,
      outstanding: 0,
      processes: base.processes,
      redis: { usedMemoryBytes: base.usedMemoryBytes, keys: base.keys, bytesPerFinishedOrder: null },
    };
    const marks: SoakMark[] = [baseline];
    progress(markLine(baseline));

    const points = soakMarkPoints(s.orders, s.every);
    const firstEnqueueAtMs = Date.now();
    lastResultAtMs = firstEnqueueAtMs;
    let enqueued = 0;
    let peakOutstanding = 0;
    let lastProgressAt = firstEnqueueAtMs;
    let failure: string | null = null;
    /** Enqueue batches while the outstanding intents leave room for one; the intents are made batch by batch. */
    const feed = async (): Promise<void> => {
      for (;;) {
        const n = Math.min(s.batchSize, s.orders - enqueued);
        if (n <= 0 || enqueued - check.results + n > s.maxOutstanding) return;
        await enqueueOrders(fleet.queues, benchIntents(n, ID_PREFIX, enqueued));
        enqueued += n;
        peakOutstanding = Math.max(peakOutstanding, enqueued - check.results);
      }
    };
    while (marks.length - 1 < points.length) {
      if (options.signal?.aborted) throw new FleetError('the soak was interrupted');
      // A due mark first: feeding a batch takes a while, and the sample should land near its mark.
      const mark = dueMark(points, marks.length - 1, check.results);
      if (mark !== null) {
        const previous = marks[marks.length - 1] ?? baseline;
        const results = check.results;
        const atMs = Date.now();
        const taken = await sampler.take();
        const m: SoakMark = {
          mark,
          results,
          elapsedMs: atMs - firstEnqueueAtMs,
          windowOrdersPerSecond: windowRate(previous, { results, elapsedMs: atMs - firstEnqueueAtMs }),
          outstanding: enqueued - results,
          processes: taken.processes,
          redis: { usedMemoryBytes: taken.usedMemoryBytes, keys: taken.keys, bytesPerFinishedOrder: bytesPerFinishedOrder(base.usedMemoryBytes, taken.usedMemoryBytes, results) },
        };
        marks.push(m);
        progress(markLine(m));
        // After the sample, so the check's garbage is not in this mark's RSS.
        check.checkWindow(fleet.sandbox.orders());
        continue;
      }
      await feed();
      const now = Date.now();
      const dead = fleet.crashed();
      if (dead.length > 0) {
        failure = `${dead.map((p) => p.name).join(', ')} exited unexpectedly with ${check.results} of ${s.orders} results in`;
        break;
      }
      if (now - lastResultAtMs > s.timeoutMs) {
        failure = `no new result for ${formatMs(s.timeoutMs)} (${check.results} of ${s.orders} results in, ${enqueued} enqueued)`;
        break;
      }
      if (now - lastProgressAt >= PROGRESS_GAP_MS) {
        lastProgressAt = now;
        progress(`  soak: ${check.results}/${s.orders} results after ${formatSeconds(now - firstEnqueueAtMs)}, ${enqueued - check.results} outstanding`);
      }
      await sleep(LOOP_MS);
    }

    if (failure !== null) progress(`soak: stopped early: ${failure}`);
    const durationMs = Math.max(1, lastResultAtMs - firstEnqueueAtMs);
    const sandboxOrders = fleet.sandbox.orders();
    const correctness = check.finish(sandboxOrders, failure === null ? [] : [failure]);
    const report: SoakReport = {
      date,
      machine,
      settings: { orders: s.orders, every: s.every, workers: s.workers, concurrency: s.concurrency, batchSize: s.batchSize, maxOutstanding: s.maxOutstanding, seed: s.seed, partitions: fleet.partitions },
      env: setup.env,
      retention,
      marks,
      verdict: soakVerdict(marks, s.orders),
      peakOutstanding,
      orders: s.orders,
      results: check.results,
      byStatus: check.byStatus(),
      durationMs,
      ordersPerSecond: perSecond(check.results, durationMs, 1),
      placedOrders: sandboxOrders.length,
      correctness,
      ok: correctness.ok,
    };
    const markdown = renderSoakMarkdown(report);
    const paths = await writeSoakResults(options.outDir, s, report, markdown);
    return { report, markdown, paths };
  } finally {
    await Promise.all(consumers.map((c) => c.close()));
    await fleet.close();
  }
}

/** Write `soak-<orders>.json` and `.md` into `dir` (created if missing), replacing a previous run's of that size. */
async function writeSoakResults(dir: string, s: SoakSettings, report: SoakReport, markdown: string): Promise<SoakRun['paths']> {
  await mkdir(dir, { recursive: true });
  const paths = { json: join(dir, `soak-${s.orders}.json`), markdown: join(dir, `soak-${s.orders}.md`) };
  await writeAtomically(paths.json, `${JSON.stringify(report, null, 2)}\n`);
  await writeAtomically(paths.markdown, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  return paths;
}
