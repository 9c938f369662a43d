import { readFile, writeFile } from 'node:fs/promises';
import { round } from '../figures/run-figures.js';
import type { BenchReport, ModeReport } from './bench-report.js';
import type { BenchMode } from './bench-modes.js';

/** The markers around the README's bench table: what between them is the bench's to rewrite. */
export const README_BENCH_START = '<!-- bench-table:start (npm run bench -- --update-readme rewrites this block from bench/results/latest.json) -->';
export const README_BENCH_END = '<!-- bench-table:end -->';

const MODE_LABEL: Record<BenchMode, string> = {
  webhook: 'webhook (instant fulfilment)',
  polling: 'polling-only (instant fulfilment)',
  realistic: 'realistic (fulfilment 0.2–2 s)',
};

const MB = 1024 * 1024;

function cpuInAll(m: ModeReport): string {
  if (m.cpuMsPerOrder === undefined) return '–';
  return `${round(m.cpuMsPerOrder.reduce((sum, c) => sum + (c.ms ?? 0), 0) + m.redis.cpuUsPerOrder / 1000, 2)} ms`;
}

function workerRss(m: ModeReport): string {
  const workers = m.peakRss.filter((p) => p.process.startsWith('worker'));
  return workers.length === 0 ? '–' : `${workers.map((p) => (p.bytes === null ? '?' : String(Math.round(p.bytes / MB)))).join(' / ')} MB`;
}

/**
 * The README's bench table for `report` (bench/results/latest.json): one row per mode, then the
 * machine and the ceiling. Generated, so the README cannot drift from the saved report.
 */
export function renderReadmeBenchTable(report: BenchReport): string {
  const m = report.machine;
  const memory = `${round(m.memoryBytes / 1024 ** 3, 1)} GiB`;
  const lines = [
    `Latest run (${report.settings.orders} orders per mode, ${report.date.slice(0, 10)}; ${m.cores}-core ${m.cpuModel}, ${memory}, Node ${m.node.replace(/^v/, '')}, Redis ${m.redis}; ` +
      'full report in [`bench/results/latest.md`](bench/results/latest.md)):',
    '',
    '| mode | orders/s | ÷ ceiling | API calls / placed order | Redis cmds / order | Redis CPU / order | CPU / order, all processes | settle → result p50 / p99 | worker peak RSS | correct |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...report.modes.map((r) =>
      [
        MODE_LABEL[r.mode],
        String(r.ordersPerSecond),
        r.ratioToCeiling === null ? '–' : String(r.ratioToCeiling),
        r.callsPerPlacedOrder === null ? '–' : String(r.callsPerPlacedOrder.total),
        String(r.redis.commandsPerOrder),
        `${r.redis.cpuUsPerOrder} µs`,
        cpuInAll(r),
        r.settleToResultMs === null ? '–' : `${r.settleToResultMs.p50} ms / ${r.settleToResultMs.p99} ms`,
        workerRss(r),
        r.correctness.ok ? 'yes' : 'NO',
      ].join(' | '),
    ).map((row) => `| ${row} |`),
    '',
    `BullMQ ceiling on the same Redis (no-op jobs, ${report.settings.workers} processes × ${report.settings.concurrency}): ${report.ceiling.endToEndPerSecond} jobs/s end to end.`,
  ];
  return lines.join('\n');
}

/** `readme` with the text between the bench markers replaced by `table`; throws when the markers are missing. */
export function replaceReadmeBenchTable(readme: string, table: string): string {
  const start = readme.indexOf(README_BENCH_START);
  const end = readme.indexOf(README_BENCH_END);
  if (start < 0 || end < start) throw new Error(`the README has no bench table block (${README_BENCH_START} … ${README_BENCH_END})`);
  return `${readme.slice(0, start + README_BENCH_START.length)}\n${table}\n${readme.slice(end)}`;
}

/** Rewrite the bench table block of the README at `path` from `report`. */
export async function updateReadmeBenchTable(path: string, report: BenchReport): Promise<void> {
  const readme = await readFile(path, 'utf8');
  await writeFile(path, replaceReadmeBenchTable(readme, renderReadmeBenchTable(report)));
}
