import type { ResultStatus } from '../../src/lifecycle/order-state.js';
import { formatMs, RESULT_STATUSES } from '../figures/run-figures.js';
import type { Correctness } from './bench-report.js';
import { machineRows, type MachineInfo } from './machine-info.js';
import { SOAK_RSS_TOLERANCE, type RssChange, type SoakVerdict } from './soak-verdict.js';

/** What a process of the soak is: a worker, the webhook receiver, or the bench process itself. */
export type SoakProcessRole = 'worker' | 'webhook' | 'bench';

/** One process's memory at one sample. */
export interface ProcessMemory {
  /** `worker-1`, `webhook-1`, or `bench` (the bench process: sandbox, feed and result consumer). */
  process: string;
  role: SoakProcessRole;
  /** Current resident set size (`VmRSS` of /proc/<pid>/status), bytes; null when unreadable. */
  rssBytes: number | null;
  /** V8 heap in use (`nodejs_heap_size_used_bytes` of its /metrics, or the bench's own), bytes; null when unreadable. */
  heapUsedBytes: number | null;
}

/** Redis at one sample. */
export interface SoakRedisSample {
  /** `used_memory`, bytes. */
  usedMemoryBytes: number;
  /** Keys in the database (`DBSIZE`). */
  keys: number;
  /** (`used_memory` − its value before the first enqueue) ÷ finished orders, bytes; null at the baseline. */
  bytesPerFinishedOrder: number | null;
}

/** One sample of the soak: the baseline (mark 0) or every `every` results. */
export interface SoakMark {
  /** Results the sample was due at: 0 (baseline), a multiple of `every`, or the last order. */
  mark: number;
  /** Results consumed when the sample was taken (at or a little past the mark: the run does not pause). */
  results: number;
  /** First enqueue → the sample, in ms (0 at the baseline). */
  elapsedMs: number;
  /** Results per second since the previous sample; null at the baseline. */
  windowOrdersPerSecond: number | null;
  /** Intents enqueued without a consumed result at the sample. */
  outstanding: number;
  /** Every process of the fleet, workers first, then the receiver, then the bench process. */
  processes: ProcessMemory[];
  redis: SoakRedisSample;
}

/** A whole `bench --soak` run: what soak-<orders>.json holds. */
export interface SoakReport {
  /** When the run started, ISO 8601. */
  date: string;
  machine: MachineInfo;
  settings: {
    /** Orders of the run. */
    orders: number;
    /** Results between two samples. */
    every: number;
    workers: number;
    concurrency: number;
    /** Intents per addBulk. */
    batchSize: number;
    /** Most intents enqueued without a result at any time (the feed waits below it). */
    maxOutstanding: number;
    seed: number;
    /** QUEUE_PARTITIONS of the fleet. */
    partitions: number;
  };
  /** Worker configuration the bench set (the rest at production defaults). */
  env: Record<string, string>;
  /** The retention in force (production defaults): nothing the run finishes expires during it. */
  retention: { retentionSeconds: number; tombstoneTtlSeconds: number; unmatchedEventTtlSeconds: number };
  /** Baseline first, then one per mark. */
  marks: SoakMark[];
  verdict: SoakVerdict;
  /** Most intents outstanding the feed saw. */
  peakOutstanding: number;
  orders: number;
  /** Distinct merchant_order_ids with a result. */
  results: number;
  byStatus: Record<ResultStatus, number>;
  /** First enqueue → the last result consumed, in ms. */
  durationMs: number;
  ordersPerSecond: number;
  placedOrders: number;
  correctness: Correctness;
  /** The results were correct (the RSS verdict is a finding, not a failure). */
  ok: boolean;
}

function mb(bytes: number | null): string {
  return bytes === null ? 'n/a' : (bytes / (1024 * 1024)).toFixed(1);
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [`| ${header.map(escapeCell).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`)];
}

function pct(fraction: number): string {
  return `${fraction >= 0 ? '+' : '−'}${Math.abs(fraction * 100).toFixed(1)} %`;
}

function changeText(c: RssChange): string {
  if (c.change === null) return 'n/a';
  return `${mb(c.fromBytes)} → ${mb(c.toBytes)} MB (${pct(c.change)})`;
}

function days(seconds: number): string {
  return seconds % 86_400 === 0 ? `${seconds / 86_400} d` : `${seconds} s`;
}

/** The names of the processes as the marks list them, in the order of the first mark. */
function processNames(marks: readonly SoakMark[]): string[] {
  return marks[0]?.processes.map((p) => p.process) ?? [];
}

function verdictLines(v: SoakVerdict): string[] {
  const tol = `±${(SOAK_RSS_TOLERANCE * 100).toFixed(0)} %`;
  if (v.fromMark === null || v.toMark === null) {
    return [`No verdict: it needs a mark past the warm-up and a later one (at least 3 marks; ${v.reason ?? ''}).`];
  }
  const head =
    v.flat === true
      ? `**Worker RSS flat**: every worker within ${tol} between ${v.fromMark} and ${v.toMark} orders.`
      : `**Worker RSS NOT flat**: some worker moved more than ${tol} between ${v.fromMark} and ${v.toMark} orders.`;
  return [
    head,
    '',
    ...table(
      ['process', `RSS at ${v.fromMark} → ${v.toMark} orders`, 'judged'],
      [
        ...v.workers.map((c) => [c.process, changeText(c), c.flat === null ? 'n/a' : c.flat ? `flat (within ${tol})` : `**not flat** (outside ${tol})`]),
        ...v.others.map((c) => [c.process, changeText(c), 'not judged']),
      ],
    ),
  ];
}

/** The soak as markdown: summary, a row per mark, the verdict, the machine, how it is measured. */
export function renderSoakMarkdown(r: SoakReport): string {
  const s = r.settings;
  const names = processNames(r.marks);
  const statuses = RESULT_STATUSES.filter((st) => r.byStatus[st] > 0)
    .map((st) => `${st} ${r.byStatus[st]}`)
    .join(', ');
  const ret = r.retention;
  const last = r.marks[r.marks.length - 1];
  const lines: string[] = [
    `# voodoo-fulfillment soak, ${s.orders} orders, ${r.date}`,
    '',
    `Webhook mode, ${s.orders} orders fed in batches of ${s.batchSize} with at most ${s.maxOutstanding} outstanding (enqueued without a result; peak ${r.peakOutstanding}), ` +
      `${s.workers} worker processes × concurrency ${s.concurrency}, the receiver as a process, the sandbox and a result consumer in the bench process ` +
      `(no API latency, no faults), a private redis-server, QUEUE_PARTITIONS=${s.partitions}. A sample every ${s.every} results. ` +
      `Result: ${r.ok ? 'correct' : '**FAILED its correctness check**'}.`,
    '',
    ...verdictLines(r.verdict),
    '',
    '## Every mark',
    '',
    ...table(
      ['orders', 'elapsed', 'orders/s (window)', ...names.map((n) => `${n} RSS MB`), 'Redis used_memory MB', 'Redis keys', 'Redis bytes / finished order'],
      r.marks.map((m) => {
        const byName = new Map(m.processes.map((p) => [p.process, p]));
        return [
          m.mark === 0 ? '0 (baseline)' : String(m.results),
          m.mark === 0 ? '–' : formatMs(m.elapsedMs),
          m.windowOrdersPerSecond === null ? '–' : m.windowOrdersPerSecond.toFixed(0),
          ...names.map((n) => mb(byName.get(n)?.rssBytes ?? null)),
          mb(m.redis.usedMemoryBytes),
          String(m.redis.keys),
          m.redis.bytesPerFinishedOrder === null ? '–' : String(m.redis.bytesPerFinishedOrder),
        ];
      }),
    ),
    '',
    ...table(
      ['orders', ...names.map((n) => `${n} heap MB`)],
      r.marks.map((m) => {
        const byName = new Map(m.processes.map((p) => [p.process, p]));
        return [m.mark === 0 ? '0 (baseline)' : String(m.results), ...names.map((n) => mb(byName.get(n)?.heapUsedBytes ?? null))];
      }),
    ),
    '',
    '## Results',
    '',
    ...table(
      ['figure', 'value'],
      [
        ['throughput (first enqueue → last result consumed)', `${r.ordersPerSecond.toFixed(0)} orders/s (${r.results} results in ${formatMs(r.durationMs)})`],
        ['results', `${r.results} of ${r.orders}${statuses === '' ? '' : `: ${statuses}`}; ${r.placedOrders} orders placed in the sandbox`],
        [
          'correctness',
          r.correctness.ok
            ? 'every merchant_order_id has exactly one result matching the sandbox; none charged twice'
            : `**FAILED**: ${r.correctness.problemCount} problem(s), e.g. ${r.correctness.problems.slice(0, 3).join('; ')}`,
        ],
        [
          'Redis retained per finished order',
          last === undefined || last.redis.bytesPerFinishedOrder === null ? 'n/a' : `${last.redis.bytesPerFinishedOrder} bytes at ${last.results} orders`,
        ],
        [
          'retention in force (production defaults)',
          `RETENTION_SECONDS ${ret.retentionSeconds} (${days(ret.retentionSeconds)}), TOMBSTONE_TTL_SECONDS ${ret.tombstoneTtlSeconds} (${days(ret.tombstoneTtlSeconds)}), ` +
            `UNMATCHED_EVENT_TTL_SECONDS ${ret.unmatchedEventTtlSeconds} (${days(ret.unmatchedEventTtlSeconds)})`,
        ],
      ],
    ),
    '',
    `Worker env: ${Object.entries(r.env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}.`,
    '',
    '## Machine',
    '',
    ...table(['', ''], machineRows(r.machine, r.date)),
    '',
    '## How the figures are taken',
    '',
    '- RSS: `VmRSS` (current, not the peak) of `/proc/<pid>/status` of each process, read when the consumed results reach the mark; ' +
      'heap: `nodejs_heap_size_used_bytes` of each process\'s /metrics (the worker\'s ops port, the receiver\'s own port), the bench\'s `process.memoryUsage()`.',
    `- Verdict: each worker's RSS from the first mark at or past 20 % of the orders (never the first mark: warm-up) to the last mark; flat when within ±${(SOAK_RSS_TOLERANCE * 100).toFixed(0)} %. ` +
      'The receiver and the bench process are shown, not judged: the bench process holds the sandbox, which keeps every order it placed (as the API keeps them in its database).',
    '- Redis bytes per finished order: `used_memory` growth since the baseline ÷ results consumed. Every finished order stays retained for the whole run by design ' +
      '(ledger record and completed result job RETENTION_SECONDS, tombstone TOMBSTONE_TTL_SECONDS), so Redis grows with the orders; ' +
      'so does each completed intent job (an intent hands its placed order to the webhook and completes; it is kept RETENTION_SECONDS like any finished job). The growth also holds the outstanding intents of the moment ' +
      '(at most the bound above, `outstanding` per mark in the JSON): a fixed amount, so it weighs on the early marks and fades by the last.',
    '- The feed enqueues (`enqueueOrders`) a batch whenever outstanding intents leave room for it, so the backlog stays bounded and the figures are steady state, not a queue. ' +
      'The consumer completes every result job as a merchant\'s would (`consumeResults`).',
    '- Correctness: tools/checks/result-check.ts over each window\'s results against the sandbox\'s orders (window by window, so the bench keeps no 100k results in memory), ' +
      'then every id once: no id without a result, no second result job, no sandbox order without a result.',
    '- The machine may be shared with other work: figures are indicative.',
    '',
  ];
  return lines.join('\n');
}
