import { renderProfileSummary, type ProfileSummary } from './cpu-profile.js';
import type { RedisMemory } from './redis-memory.js';
import type { ResultStatus } from '../../src/lifecycle/order-state.js';
import type { SandboxStats } from '../../src/sandbox/sandbox-types.js';
import type { BenchMode } from './bench-modes.js';
import type { CeilingReport } from './bullmq-ceiling.js';
import { machineRows, type MachineInfo } from './machine-info.js';
import type { RedisUsage } from './redis-stats.js';
import { renderStepCostsSection, type StepCostsReport } from './step-costs-report.js';
import { formatMs, RESULT_STATUSES, round, type CallsPerOrder, type DurationPercentiles } from '../figures/run-figures.js';

/** Whether the run's results were right, whatever its speed. */
export interface Correctness {
  /** Every merchant_order_id has exactly one result, every result matches the sandbox, nothing timed out. */
  ok: boolean;
  problemCount: number;
  /** The first problems found (at most 20). */
  problems: string[];
}

/** Bytes as KB with one decimal, or n/a. */
function kb(bytes: number | null): string {
  return bytes === null ? 'n/a' : `${(bytes / 1024).toFixed(1)} KB`;
}

/** Everything measured in one mode. */
export interface ModeReport {
  mode: BenchMode;
  setup: {
    receiver: boolean;
    /** Sandbox fulfilment time range, in ms. */
    fulfilmentMs: { min: number; max: number };
    /** Worker processes. */
    workers: number;
    /** Worker configuration the bench set (the rest is at production defaults). */
    env: Record<string, string>;
    /** Whether workers had the sample catalog (CATALOG_PATH). */
    catalog: boolean;
    notes: string[];
  };
  /** Intents enqueued (all valid, each its own merchant_order_id). */
  orders: number;
  /** Result jobs found. */
  results: number;
  byStatus: Record<ResultStatus, number>;
  /** Time to add every intent with addBulk, in ms. */
  enqueueMs: number;
  /** First enqueue → the last result job's `timestamp`, in ms. */
  durationMs: number;
  /** Results per second over `durationMs`. */
  ordersPerSecond: number;
  /** `ordersPerSecond` ÷ the ceiling's end-to-end no-op jobs/s; null when no ceiling was measured. */
  ratioToCeiling: number | null;
  /** Orders the sandbox created. */
  placedOrders: number;
  /** API calls per placed order, by endpoint; null when none was placed. */
  callsPerPlacedOrder: CallsPerOrder | null;
  /** Redis over the run (enqueue → every intent job finished), per order enqueued. */
  redis: RedisUsage;
  /** Redis memory left per finished order, and what one order's keys weigh. */
  memory: RedisMemory;
  /** Sandbox settlement (`settledAtMs`) → the result job's `timestamp`, in ms. */
  settleToResultMs: DurationPercentiles | null;
  /** Peak RSS (VmHWM) of each child process, read just before it was stopped, in bytes. */
  peakRss: { process: string; bytes: number | null }[];
  webhooks: SandboxStats['webhooks'];
  /**
   * Adds to order-results over the run, from the queue's event stream: `added` created a result job,
   * `duplicated` re-added one that existed (a no-op by job id, but a whole add's cost).
   */
  resultAdds: { added: number; duplicated: number };
  /** Intent jobs still delayed when the last result came in (finished orders' jobs left parked). */
  delayedAtLastResult: number;
  /**
   * CPU time (user + system) each process spent per order from the first enqueue to the drain, in ms
   * (from /proc/<pid>/stat; the bench process hosts the sandbox). Redis' own is `redis.cpuUsPerOrder`.
   * Absent from reports made before it was measured.
   */
  cpuMsPerOrder?: { process: string; ms: number | null }[];
  correctness: Correctness;
  /** With `--cpu-prof`: what the worker processes (summed) and the receiver spent their CPU on. */
  cpuProfile?: { workers: ProfileSummary; receiver: ProfileSummary | null };
}

/** A whole bench run: what latest.json holds. */
export interface BenchReport {
  /** When the run started, ISO 8601. */
  date: string;
  machine: MachineInfo;
  settings: {
    orders: number;
    modes: BenchMode[];
    concurrency: number;
    workers: number;
    /** Intents per addBulk. */
    batchSize: number;
    /** Seed of the sandbox's outcomes. */
    seed: number;
  };
  ceiling: CeilingReport;
  modes: ModeReport[];
  /** Redis commands per step of one order (the step tracer, run before the modes); absent when skipped (`--no-steps`). */
  steps?: StepCostsReport;
  /** True when every mode's correctness check passed. */
  ok: boolean;
}

/** Goals shown next to the figures; the bench does not fail on them. */
export const BENCH_TARGETS = {
  webhook: { ordersPerSecond: 1_000, callsPerPlacedOrder: 1.1, settleToResultP99Ms: 50 },
  polling: { callsPerPlacedOrder: 2.2 },
} as const;

function fixed(value: number, digits: number): string {
  return value.toFixed(digits);
}

function mb(bytes: number | null): string {
  return bytes === null ? 'n/a' : `${fixed(bytes / (1024 * 1024), 0)} MB`;
}

function verdict(met: boolean): string {
  return met ? 'met' : 'missed';
}

/** The target cell of a figure: `≥ 1000 (met)`, or empty when the mode has no target for it. */
function target(text: string | null, met: boolean): string {
  return text === null ? '' : `${text} (${verdict(met)})`;
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
  ];
}

function callsText(c: ModeReport['callsPerPlacedOrder'], placed: number): string {
  if (c === null) return 'no order placed';
  return `${fixed(c.total, 3)} (token ${fixed(c.token, 4)}, balance ${fixed(c.balance, 4)}, create ${fixed(c.create, 3)}, lookup ${fixed(c.lookup, 3)}) over ${placed} placed`;
}

function settleText(p: DurationPercentiles | null): string {
  if (p === null) return 'n/a';
  return `p50 ${formatMs(p.p50)}, p95 ${formatMs(p.p95)}, p99 ${formatMs(p.p99)} (max ${formatMs(p.max)}, ${p.samples} orders)`;
}

function statusText(m: ModeReport): string {
  const parts = RESULT_STATUSES
    .filter((s) => m.byStatus[s] > 0)
    .map((s) => `${s} ${m.byStatus[s]}`);
  return `${m.results} of ${m.orders}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
}

function modeSection(m: ModeReport): string[] {
  const webhookTargets = m.mode === 'webhook' ? BENCH_TARGETS.webhook : null;
  const callsTarget = m.mode === 'webhook' ? BENCH_TARGETS.webhook.callsPerPlacedOrder : m.mode === 'polling' ? BENCH_TARGETS.polling.callsPerPlacedOrder : null;
  const calls = m.callsPerPlacedOrder?.total ?? null;
  const p99 = m.settleToResultMs?.p99 ?? null;
  const top = m.redis.top.map((c) => `${c.command} ${fixed(c.perOrder, 2)}`).join(' · ');
  const fulfilment = m.setup.fulfilmentMs.max === 0 ? 'instant' : `${m.setup.fulfilmentMs.min}–${m.setup.fulfilmentMs.max} ms`;
  const rows: string[][] = [
    [
      'throughput (first enqueue → last result)',
      `**${fixed(m.ordersPerSecond, 0)} orders/s** (${m.results} results in ${formatMs(m.durationMs)})`,
      webhookTargets === null ? '' : target(`≥ ${webhookTargets.ordersPerSecond}`, m.ordersPerSecond >= webhookTargets.ordersPerSecond),
    ],
    ['share of the BullMQ ceiling', m.ratioToCeiling === null ? 'n/a' : `${fixed(m.ratioToCeiling, 3)} of end-to-end no-op jobs/s`, ''],
    [
      'API calls / placed order',
      callsText(m.callsPerPlacedOrder, m.placedOrders),
      callsTarget === null ? '' : target(`≤ ${callsTarget}`, calls !== null && calls <= callsTarget),
    ],
    [
      'Redis commands / order',
      `${fixed(m.redis.commandsPerOrder, 1)} (${m.redis.commands} in all; ${fixed(m.redis.scriptsPerOrder, 2)} of them Lua scripts per order)`,
      '',
    ],
    ['top Redis commands (calls / order)', top === '' ? 'none' : top, ''],
    ['Redis CPU / order', `${fixed(m.redis.cpuUsPerOrder, 1)} µs (${fixed(m.redis.cpuSeconds, 2)} s in all)`, ''],
    [
      'settle → result (sandbox settledAtMs → result job timestamp)',
      settleText(m.settleToResultMs),
      webhookTargets === null ? '' : target(`p99 ≤ ${webhookTargets.settleToResultP99Ms} ms`, p99 !== null && p99 <= webhookTargets.settleToResultP99Ms),
    ],
    [
      'Redis memory retained / finished order',
      `${kb(m.memory.retainedPerOrder)} (intent job ${kb(m.memory.intentJob)}, result job ${kb(m.memory.resultJob)}, ledger record ${kb(m.memory.ledgerRecord)}, tombstone ${kb(m.memory.tombstone)})`,
      '',
    ],
    ['peak RSS (VmHWM)', m.peakRss.map((p) => `${p.process} ${mb(p.bytes)}`).join(', ') || 'n/a', ''],
    ['results', statusText(m), ''],
    [
      'correctness',
      m.correctness.ok
        ? 'every merchant_order_id has exactly one result; all match the sandbox'
        : `**FAILED**: ${m.correctness.problemCount} problem(s), e.g. ${m.correctness.problems.slice(0, 3).join('; ')}`,
      '',
    ],
    ['enqueue (enqueueOrders in batches)', `${m.orders} intents in ${formatMs(m.enqueueMs)}`, ''],
    [
      'result adds (order-results events)',
      `${m.resultAdds.added} added, ${m.resultAdds.duplicated} re-added as duplicates (${(m.resultAdds.added + m.resultAdds.duplicated) / Math.max(1, m.results)} adds per result)`,
      'one add per result',
    ],
    ...(m.cpuMsPerOrder === undefined
      ? []
      : [
          [
            'CPU / order (user + system, first enqueue → drain)',
            [...m.cpuMsPerOrder.map((c) => `${c.process} ${c.ms === null ? '?' : `${c.ms} ms`}`), `redis-server ${round(m.redis.cpuUsPerOrder / 1000, 3)} ms`].join(' · '),
            `${round(m.cpuMsPerOrder.reduce((sum, c) => sum + (c.ms ?? 0), 0) + m.redis.cpuUsPerOrder / 1000, 2)} ms in all: the machine’s cores ÷ this bounds orders/s`,
          ] as [string, string, string],
        ]),
    ['intent jobs still delayed at the last result', String(m.delayedAtLastResult), m.setup.receiver ? '0 (placed orders are handed off: their jobs complete)' : ''],
    [
      'webhooks',
      m.setup.receiver ? `${m.webhooks.sent} sent, ${m.webhooks.acknowledged} acknowledged, ${m.webhooks.failed} failed` : 'none (no receiver, none sent)',
      '',
    ],
  ];
  return [
    `## ${m.mode}`,
    '',
    `${m.setup.workers} worker processes${m.setup.receiver ? ' + webhook receiver' : ', no receiver'}, fulfilment ${fulfilment}, ` +
      `worker env ${Object.entries(m.setup.env)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}${m.setup.catalog ? ', sample catalog (CATALOG_PATH)' : ''}.`,
    '',
    ...table(['figure', 'value', 'target'], rows),
    '',
    ...m.setup.notes.map((n) => `- ${n}`),
    '',
    ...(m.cpuProfile === undefined
      ? []
      : [
          ...renderProfileSummary(`${m.mode}: worker CPU profile (node --cpu-prof, every worker process summed)`, m.cpuProfile.workers),
          ...(m.cpuProfile.receiver === null ? [] : renderProfileSummary(`${m.mode}: receiver CPU profile`, m.cpuProfile.receiver)),
        ]),
  ];
}

/** The report as markdown: a summary, a table per mode, the ceiling, the machine and how it was measured. */
export function renderBenchMarkdown(r: BenchReport): string {
  const c = r.ceiling;
  const m = r.machine;
  const lines: string[] = [
    `# voodoo-fulfillment bench, ${r.date}`,
    '',
    `${r.settings.orders} orders per mode, ${r.settings.workers} worker processes × concurrency ${r.settings.concurrency}, ` +
      'the webhook receiver as a process of its own, a private redis-server, the sandbox in the bench process (no API latency, no faults). ' +
      `Result: ${r.ok ? 'every mode correct' : '**some mode FAILED its correctness check**'}.`,
    '',
    ...table(
      ['mode', 'orders/s', 'share of ceiling', 'API calls / placed order', 'Redis cmds / order', 'settle → result p99', 'correct'],
      r.modes.map((mode) => [
        mode.mode,
        fixed(mode.ordersPerSecond, 0),
        mode.ratioToCeiling === null ? 'n/a' : fixed(mode.ratioToCeiling, 3),
        mode.callsPerPlacedOrder === null ? 'n/a' : fixed(mode.callsPerPlacedOrder.total, 3),
        fixed(mode.redis.commandsPerOrder, 1),
        mode.settleToResultMs === null ? 'n/a' : formatMs(mode.settleToResultMs.p99),
        mode.correctness.ok ? 'yes' : '**no**',
      ]),
    ),
    '',
    ...r.modes.flatMap(modeSection),
    ...(r.steps === undefined ? [] : renderStepCostsSection(r.steps, '##')),
    '## BullMQ ceiling (no-op jobs, same Redis)',
    '',
    ...table(
      ['figure', 'value'],
      [
        ['add (addBulk, nothing consuming)', `${c.addPerSecond} jobs/s (${c.jobs} in ${formatMs(c.addMs)})`],
        ['process (jobs already waiting)', `${c.processPerSecond} jobs/s (${c.jobs} in ${formatMs(c.processMs)})`],
        ['end to end (adding and processing at once)', `**${c.endToEndPerSecond} jobs/s** (${c.jobs} in ${formatMs(c.endToEndMs)})`],
      ],
    ),
    '',
    `- ${c.workers} no-op worker processes × concurrency ${c.concurrency}, like the pipeline's workers (one event loop each); no rate limiter.`,
    '- jobs shaped like intents (similar data, a jobId, kept on completion), added in the same batch size; end to end is the comparable figure: ' +
      "the pipeline's orders/s is measured the same way (first add → last job done).",
    '',
    '## Machine',
    '',
    ...table(['', ''], machineRows(m, r.date)),
    '',
    '## How the figures are taken',
    '',
    '- orders/s: results ÷ (first enqueue → the latest result job `timestamp`, i.e. when BullMQ added it).',
    '- API calls: the sandbox counts every request by endpoint; divided by the orders it created.',
    '- Redis: `INFO commandstats` and `INFO cpu` deltas from just before the first enqueue to the moment every intent job has finished, ' +
      'divided by orders enqueued. Commands a Lua script runs count one each besides the EVALSHA itself. ' +
      "The bench's own result-count polls (every 200 ms) are included; they are a rounding error.",
    '- settle → result: the sandbox settles an order (`settledAtMs`), the worker learns it (webhook or poll) and adds the result job.',
    '- peak RSS: `VmHWM` of `/proc/<pid>/status`, read just before each process is stopped.',
    '- The machine may be shared with other work: figures are indicative, compare runs on the same machine only.',
    '',
  ];
  return lines.join('\n');
}
