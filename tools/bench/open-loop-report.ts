import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResultStatus } from '../../src/lifecycle/order-state.js';
import type { SandboxStats } from '../../src/sandbox/sandbox-types.js';
import { formatMs, nonZeroCounts, RESULT_STATUSES, type CallsPerOrder, type DurationPercentiles } from '../figures/run-figures.js';
import type { Correctness } from './bench-report.js';
import type { MachineInfo } from './machine-info.js';
import type { RedisUsage } from './redis-stats.js';
import { LATE_SHARE_LIMIT, OPEN_LOOP_TARGETS, SUSTAINED_RATIO, type RateLatency, type RateOutcome, type RateThroughput, type SweepSummary } from './open-loop-figures.js';
import { openLoopFileStem, type OpenLoopFaults, type OpenLoopFulfilment } from './open-loop-options.js';

/** Everything measured at one offered rate. */
export interface OpenLoopRateReport {
  /** The rate asked for, in intents/s. */
  offeredPerSecond: number;
  /** Arrivals the schedule drew (all enqueued, warm-up included). */
  arrivals: number;
  /** Arrivals after the warm-up: the percentiles' population. */
  measuredArrivals: number;
  /** Result jobs found (resolutions left out). */
  results: number;
  byStatus: Record<ResultStatus, number>;
  throughput: RateThroughput;
  latency: RateLatency;
  /** How late the clock loop issued each intent's enqueue call after its scheduled time, in ms (latency counts from the schedule anyway). */
  enqueueLagMs: DurationPercentiles | null;
  /** enqueueOrders calls made (one per tick with something due). */
  enqueueCalls: number;
  /** Redis from just before the first arrival until every intent job finished, per intent. */
  redis: RedisUsage;
  /** API calls per placed order; null when none was placed. */
  callsPerPlacedOrder: CallsPerOrder | null;
  /** Faults the sandbox injected, by name. */
  faults: Record<string, number>;
  webhooks: SandboxStats['webhooks'];
  correctness: Correctness;
  /** Sustained, correct, and both p99s within target. */
  withinTarget: boolean;
  /** The measured orders with the longest enqueue → result, longest first (at most 5), to tell a queue from a straggler. */
  slowest: SlowOrder[];
}

/** One of a rate's slowest orders. */
export interface SlowOrder {
  merchantOrderId: string;
  /** Its result's status. */
  status: string;
  /** Scheduled arrival → result, in ms. */
  enqueueToResultMs: number;
  /** Sandbox settledAtMs → result, in ms; null when the sandbox never settled it. */
  settleToResultMs: number | null;
  /** Webhook deliveries the sandbox attempted for it. */
  webhookAttempts: number | null;
}

/** A whole open-loop run: what open-loop-<rates>.json holds. */
export interface OpenLoopReport {
  /** When the run started, ISO 8601. */
  date: string;
  machine: MachineInfo;
  settings: {
    /** Offered rates, ascending, in intents/s. */
    rates: number[];
    /** Arrival window per rate, in s. */
    durationS: number;
    /** Arrivals of the first this many s of each window are left out of the percentiles. */
    warmUpS: number;
    /** The clock loop's sleep between ticks, in ms. */
    tickMs: number;
    fulfilment: OpenLoopFulfilment;
    /** Sandbox fulfilment time range, in ms. */
    fulfilmentMs: { min: number; max: number };
    faults: OpenLoopFaults;
    workers: number;
    concurrency: number;
    /** Seed of the arrivals and of the sandbox's outcomes. */
    seed: number;
    /** Worker configuration the bench set (the rest is at production defaults). */
    env: Record<string, string>;
    /** Whether workers had the sample catalog (CATALOG_PATH). */
    catalog: boolean;
    /** How long after the last arrival a sustained rate's results (all but 1 %) may come, in ms. */
    drainLimitMs: number;
    /** Most the median enqueue → result − fulfilment may grow over a sustained rate's window, in ms. */
    growthLimitMs: number;
    notes: string[];
  };
  rates: OpenLoopRateReport[];
  summary: SweepSummary;
  /** Every rate's results were correct. */
  ok: boolean;
}

/** What the verdict reads of one rate. */
export function rateOutcome(r: OpenLoopRateReport): RateOutcome {
  return {
    offeredPerSecond: r.offeredPerSecond,
    sustained: r.throughput.sustained,
    correct: r.correctness.ok,
    settleToResultP99Ms: r.latency.settleToResultMs?.p99 ?? null,
    enqueueToResultP99Ms: r.latency.enqueueToResultMs?.p99 ?? null,
    enqueueToResultMinusFulfilmentP99Ms: r.latency.enqueueToResultMinusFulfilmentMs?.p99 ?? null,
  };
}

function fixed(value: number, digits: number): string {
  return value.toFixed(digits);
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`)];
}

function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? 'n/a' : formatMs(value);
}

function percentiles(p: DurationPercentiles | null): string {
  if (p === null) return 'n/a';
  return `p50 ${formatMs(p.p50)}, p95 ${formatMs(p.p95)}, p99 ${formatMs(p.p99)}, max ${formatMs(p.max)} (${p.samples} orders)`;
}

function rateText(perSecond: number | null): string {
  return perSecond === null ? 'none' : `${perSecond}/s`;
}

function verdictLines(r: OpenLoopReport): string[] {
  const s = r.summary;
  const t = OPEN_LOOP_TARGETS;
  const lines = [
    `- highest sustained rate measured: **${rateText(s.maxSustainedPerSecond)}** (a lower bound of the true maximum: the next rate up ${
      s.maxSustainedPerSecond !== null && s.maxSustainedPerSecond < Math.max(...r.settings.rates) ? 'was not sustained' : 'was not measured'
    })`,
    `- highest rate within target (sustained, correct, settle → result p99 ≤ ${t.settleToResultP99Ms} ms and enqueue → result − fulfilment p99 ≤ ${t.enqueueToResultMinusFulfilmentP99Ms} ms): **${rateText(s.maxWithinTargetPerSecond)}**`,
  ];
  const h = s.halfMax;
  if (h === null) return [...lines, '- issue #11 target: no rate was sustained, so half the maximum is unknown'];
  if (h.measuredPerSecond === null) {
    return [...lines, `- issue #11 target: half the maximum sustained rate is ${h.halfOfMaxPerSecond}/s, and no rate at or below it was measured: add one to the sweep`];
  }
  return [
    ...lines,
    `- issue #11 target: at half the maximum sustained rate (${h.halfOfMaxPerSecond}/s; nearest measured rate at or below it: ${h.measuredPerSecond}/s) ` +
      `p99 settle → result = ${ms(h.settleToResultP99Ms)} (target ≤ ${t.settleToResultP99Ms} ms) and p99 enqueue → result − fulfilment = ` +
      `${ms(h.enqueueToResultMinusFulfilmentP99Ms)} (target ≤ ${t.enqueueToResultMinusFulfilmentP99Ms} ms; raw enqueue → result p99 ${ms(h.enqueueToResultP99Ms)}): ` +
      `**${h.met === true ? 'met' : 'missed'}**`,
  ];
}

function statusText(r: OpenLoopRateReport): string {
  const parts = RESULT_STATUSES.filter((s) => r.byStatus[s] > 0).map((s) => `${s} ${r.byStatus[s]}`);
  return `${r.results} of ${r.arrivals}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
}

function rateSection(r: OpenLoopRateReport): string[] {
  const t = r.throughput;
  const faults = nonZeroCounts(r.faults).map(([name, n]) => `${name} ${n}`).join(', ');
  const c = r.callsPerPlacedOrder;
  const rows: string[][] = [
    [
      'rates (intents/s)',
      `offered ${t.offeredPerSecond}, scheduled ${t.scheduledPerSecond}, enqueued ${t.enqueuedPerSecond}, achieved ${t.achievedPerSecond} (results ÷ first arrival → last result)`,
    ],
    [
      'sustained',
      `${t.sustained ? 'yes' : '**no**'}: kept up ${fixed(t.keptUpRatio, 3)} (≥ ${SUSTAINED_RATIO}), backlog at the end of arrivals ${t.backlogAtEnd}, ` +
        `last result ${t.drainMs === null ? 'missing' : `${formatMs(t.drainMs)} after the last arrival`} (${t.lateResults} later than the drain limit), ` +
        `median latency growth ${t.latencyGrowthMs === null ? 'n/a (too few orders)' : `${t.latencyGrowthMs >= 0 ? '+' : '−'}${formatMs(Math.abs(t.latencyGrowthMs))}`}`,
    ],
    ['enqueue → result (from the scheduled arrival)', percentiles(r.latency.enqueueToResultMs)],
    ['enqueue → result − fulfilment', percentiles(r.latency.enqueueToResultMinusFulfilmentMs)],
    ['settle → result', percentiles(r.latency.settleToResultMs)],
    ['fulfilment (sandbox settledAt − created)', percentiles(r.latency.fulfilmentMs)],
    [
      'slowest orders (enqueue → result / settle → result)',
      r.slowest.map((o) => `${o.merchantOrderId} ${o.status} ${formatMs(o.enqueueToResultMs)} / ${ms(o.settleToResultMs)}`).join(', ') || 'n/a',
    ],
    ['enqueue lag (call issued − scheduled)', `${percentiles(r.enqueueLagMs)}; ${r.enqueueCalls} enqueueOrders calls`],
    ['Redis / intent', `${fixed(r.redis.commandsPerOrder, 1)} commands, ${fixed(r.redis.cpuUsPerOrder, 1)} µs CPU`],
    ['API calls / placed order', c === null ? 'no order placed' : `${fixed(c.total, 3)} (create ${fixed(c.create, 3)}, lookup ${fixed(c.lookup, 3)})`],
    ['faults injected', faults === '' ? 'none' : faults],
    ['webhooks', `${r.webhooks.sent} sent, ${r.webhooks.acknowledged} acknowledged, ${r.webhooks.failed} failed`],
    ['results', statusText(r)],
    [
      'correctness',
      r.correctness.ok
        ? 'every merchant_order_id has exactly one result; all match the sandbox'
        : `**FAILED**: ${r.correctness.problemCount} problem(s), e.g. ${r.correctness.problems.slice(0, 3).join('; ')}`,
    ],
  ];
  return [`## ${r.offeredPerSecond}/s`, '', ...table(['figure', 'value'], rows), ''];
}

/** The report as markdown: the latency-vs-load table, the verdict, a section per rate, the machine and how it was measured. */
export function renderOpenLoopMarkdown(r: OpenLoopReport): string {
  const s = r.settings;
  const m = r.machine;
  const fulfilment = s.fulfilmentMs.max === 0 ? 'instant fulfilment' : `fulfilment ${s.fulfilmentMs.min}–${s.fulfilmentMs.max} ms`;
  const p99 = (p: DurationPercentiles | null): string => ms(p?.p99);
  const lines: string[] = [
    `# voodoo-fulfillment open-loop bench, ${r.date}`,
    '',
    `Poisson arrivals at ${s.rates.map((x) => `${x}`).join(', ')} intents/s, ${s.durationS} s each (seed ${s.seed}); the webhook mode: ` +
      `${s.workers} worker processes × concurrency ${s.concurrency}, the webhook receiver as a process, a private redis-server, the sandbox in the bench process, ` +
      `${fulfilment}, faults ${s.faults}. A fresh fleet per rate. Latency counts from each intent's scheduled arrival; arrivals of the first ` +
      `${s.warmUpS} s of each rate are warm-up, left out of the percentiles. Result: ${r.ok ? 'every rate correct' : '**some rate FAILED its correctness check**'}.`,
    '',
    ...table(
      [
        'offered /s',
        'achieved /s',
        'enqueue → result p50',
        'p95',
        'p99',
        'max',
        'minus fulfilment p99',
        'settle → result p50',
        'p95',
        'p99',
        'max',
        'Redis cmds / intent',
        'Redis CPU µs / intent',
        'sustained',
        'within target',
        'correct',
      ],
      r.rates.map((x) => {
        const e = x.latency.enqueueToResultMs;
        const st = x.latency.settleToResultMs;
        return [
          String(x.offeredPerSecond),
          fixed(x.throughput.achievedPerSecond, 1),
          ms(e?.p50),
          ms(e?.p95),
          p99(e),
          ms(e?.max),
          p99(x.latency.enqueueToResultMinusFulfilmentMs),
          ms(st?.p50),
          ms(st?.p95),
          p99(st),
          ms(st?.max),
          fixed(x.redis.commandsPerOrder, 1),
          fixed(x.redis.cpuUsPerOrder, 1),
          x.throughput.sustained ? 'yes' : '**no**',
          x.withinTarget ? 'yes' : 'no',
          x.correctness.ok ? 'yes' : '**no**',
        ];
      }),
    ),
    '',
    '## Verdict',
    '',
    ...verdictLines(r),
    '',
    ...r.rates.flatMap(rateSection),
    '## Setup',
    '',
    `Worker env ${Object.entries(s.env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}${s.catalog ? ', sample catalog (CATALOG_PATH)' : ''}.`,
    '',
    ...s.notes.map((n) => `- ${n}`),
    '',
    '## Machine',
    '',
    ...table(
      ['', ''],
      [
        ['CPU', `${m.cpuModel}, ${m.cores} cores`],
        ['memory', `${fixed(m.memoryBytes / 1024 ** 3, 1)} GiB`],
        ['OS', m.os],
        ['Node', m.node],
        ['Redis', m.redis],
        ['load average at start (1/5/15 min)', m.loadAverage.join(' / ')],
        ['date', r.date],
      ],
    ),
    '',
    '## How the figures are taken',
    '',
    `- Arrivals: a seeded Poisson process (exponential gaps, mean 1/rate) drawn before the run; a clock loop wakes every ~${s.tickMs} ms and ` +
      'enqueues every intent whose time has come with one `enqueueOrders` call (not awaited: a slow add does not hold back the next tick). ' +
      'Arrivals follow the clock, never completions.',
    '- enqueue → result: from the intent\'s *scheduled* arrival time to its result job\'s `timestamp`, so a late enqueue call or a stalled ' +
      'bench event loop counts against the latency instead of hiding it (no coordinated omission). Minus fulfilment: the same, less the ' +
      "order's own fulfilment time (sandbox settledAtMs − created).",
    '- settle → result: sandbox `settledAtMs` → the result job\'s `timestamp`.',
    `- Percentiles are nearest-rank, over the arrivals after the first ${s.warmUpS} s (warm-up left out).`,
    '- achieved: results ÷ (first scheduled arrival → last result). enqueued: intents added to Redis by the end of the arrival window ÷ the window; ' +
      'scheduled: arrivals the Poisson process drew ÷ the window (it varies around the offered rate by about ±1/√n).',
    `- sustained: over the measured window (warm-up end → last arrival), results that came in ≥ ${SUSTAINED_RATIO} × arrivals scheduled ` +
      `(compared with the schedule actually drawn, not the nominal rate, so Poisson noise does not decide it); every intent got its result; ` +
      `at most ${LATE_SHARE_LIMIT * 100} % of the results came later than ${formatMs(s.drainLimitMs)} after the arrival window closed; and the median enqueue → result − fulfilment of the last quarter ` +
      `of the measured arrivals was at most ${formatMs(s.growthLimitMs)} above the first quarter's (a queue that grows shows there first). ` +
      'Backlog at the end of arrivals: intents without a result then.',
    `- within target: sustained, correct, p99 settle → result ≤ ${OPEN_LOOP_TARGETS.settleToResultP99Ms} ms and p99 enqueue → result − fulfilment ≤ ` +
      `${OPEN_LOOP_TARGETS.enqueueToResultMinusFulfilmentP99Ms} ms.`,
    '- Redis: `INFO commandstats` / `INFO cpu` deltas from just before the first arrival to the moment every intent job finished, ÷ intents.',
    '- The sandbox shares the bench process (and its event loop) with the arrival clock; the machine may be shared with other work: ' +
      'figures are indicative, compare runs on the same machine only.',
    '',
  ];
  return lines.join('\n');
}

/** Where {@link writeOpenLoopResults} wrote. */
export interface OpenLoopOutputPaths {
  json: string;
  markdown: string;
}

/** Write through a temp file and rename, so a reader never sees half a report. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, 'utf8');
  await rename(tmp, path);
}

/** Write `open-loop-<rates>.json` and `.md` into `dir` (created if missing). */
export async function writeOpenLoopResults(dir: string, report: OpenLoopReport, markdown: string): Promise<OpenLoopOutputPaths> {
  await mkdir(dir, { recursive: true });
  const stem = openLoopFileStem(report.settings.rates);
  const paths = { json: join(dir, `${stem}.json`), markdown: join(dir, `${stem}.md`) };
  await writeAtomically(paths.json, `${JSON.stringify(report, null, 2)}\n`);
  await writeAtomically(paths.markdown, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  return paths;
}
