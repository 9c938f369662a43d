import { formatSeconds, nonZeroCounts, reportRow, RESULT_STATUSES } from '../figures/run-figures.js';
import type { ChaosSummary } from './chaos-summary.js';

/** Problems listed in full by the report; the rest are counted. */
const LISTED_PROBLEMS = 50;
/** Allowed unresolved results listed by the report. */
const LISTED_UNRESOLVED = 10;

function row(label: string, value: string): string {
  return reportRow(label, value, 36);
}

const CAUSE_TEXT = {
  no_order: 'the sandbox has no order: nothing was charged',
  webhook_dropped: 'the sandbox dropped its webhook',
  webhook_never_stored: 'no delivery of its webhook reached the receiver',
  webhook_late: 'the receiver stored its webhook after the deadline',
} as const;

/** The verdict line of a run without problems: what was proved. */
export const PASS_TEXT =
  'PASS: no order lost, none charged twice, every result matches the sandbox, every invalid intent rejected in time, ' +
  'unresolved only where the webhook was dropped';

function money(amount: number): string {
  return amount.toFixed(2);
}

/** The chaos run's figures and verdict as plain text (for stdout); problems are listed at the end. */
export function renderChaosReport(s: ChaosSummary): string {
  const lines: string[] = [];
  const p = s.plan;
  lines.push(
    '',
    `voodoo-fulfillment chaos: ${s.intents} intents, ${s.expected} distinct merchant_order_ids, ${s.workers} workers, seed ${s.seed}, ${formatSeconds(s.durationMs)}`,
    `  plan: SIGKILL a worker every ${formatSeconds(p.killEveryMs)}, 429 burst of ${formatSeconds(p.burstMs)} every ${formatSeconds(p.burstEveryMs + p.burstMs)}, ` +
      `Redis down ${formatSeconds(p.redisDownMs)} once (AOF), worker lock ${formatSeconds(p.lockMs)}, unresolved after ${formatSeconds(p.resolveTimeoutMs)}, ` +
      (p.catalog ? 'workers with the sample catalog (invalid intents are rejected before the API)' : 'workers without a catalog (invalid intents meet the API)'),
    '',
    '  results by status',
  );
  for (const status of RESULT_STATUSES) {
    lines.push(row(`    ${status}`, String(s.byStatus[status]).padStart(6)));
  }
  lines.push(row('    total', `${String(s.results).padStart(6)} of ${s.expected} expected`));
  const u = s.unresolved;
  if (s.byStatus.unresolved > 0) {
    lines.push(
      row(
        '    unresolved because',
        `webhook dropped ${u.webhook_dropped} (allowed); no order ${u.no_order}, webhook never stored ${u.webhook_never_stored}, ` +
          `webhook late ${u.webhook_late} (problems)`,
      ),
    );
    for (const item of s.unresolvedOrders.slice(0, LISTED_UNRESOLVED)) {
      const order = item.sandboxOrderId === null ? '' : ` (order ${item.sandboxOrderId})`;
      lines.push(`      ${item.merchantOrderId}${order}: ${CAUSE_TEXT[item.cause]}`);
    }
    if (s.unresolvedOrders.length > LISTED_UNRESOLVED) lines.push(`      … and ${s.unresolvedOrders.length - LISTED_UNRESOLVED} more`);
  }
  const inv = s.invalidIntents;
  const codes = nonZeroCounts(inv.byCode)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  lines.push(
    row(
      '  invalid intents',
      `${String(inv.intents).padStart(6)} (${inv.rejectedInTime} rejected${inv.limitMs === null ? '' : ` within ${formatSeconds(inv.limitMs)}`}` +
        `${codes === '' ? '' : `: ${codes}`}; slowest ${inv.slowestMs === null ? '-' : formatSeconds(inv.slowestMs)}; ` +
        `${inv.afterAmbiguousCreate} after an ambiguous create)`,
    ),
  );
  lines.push('');
  const faults = nonZeroCounts(s.faults);
  const totalFaults = faults.reduce((sum, [, n]) => sum + n, 0);
  lines.push(`  faults injected by the sandbox: ${totalFaults}`);
  for (const [name, n] of faults) lines.push(row(`    ${name}`, String(n).padStart(6)));
  const a = s.actions;
  lines.push(row('  429 bursts', String(a.bursts).padStart(6)));
  lines.push(row('  worker kills (SIGKILL)', `${String(a.kills).padStart(6)} (${a.workerRestarts} replacements started)`));
  lines.push(row('  redis restarts (AOF)', String(a.redisRestarts).padStart(6)));
  lines.push(row('  intent jobs recovered', `${String(s.recoveredIntentJobs).padStart(6)} (taken over from a killed worker)`));
  lines.push(row('  ambiguous creates', `${String(s.ambiguousCreates).padStart(6)} (merchant_order_ids a worker could not be sure about)`));
  const w = s.webhooks;
  lines.push(
    row('  webhooks', `${w.sent} sent, ${w.acknowledged} acknowledged, ${w.failed} failed, ${w.dropped} dropped, ${w.abandoned ?? 0} abandoned`),
  );
  lines.push('');
  lines.push(row('  sandbox orders', `${s.placedOrders} (at most ${s.maxOrdersPerMerchantOrderId} per merchant_order_id)`));
  const m = s.money;
  lines.push(row('  money', `initial ${money(m.initial)} − charged ${money(m.charged)} + refunded ${money(m.refunded)} = final ${money(m.final)}`));
  lines.push(row('  log lines scanned', `${s.logLines} (${s.nonJsonLogLines} not JSON; secrets or codes found: ${s.leaks})`));
  lines.push('', `  problems: ${s.problems.length}`);
  // A problem may carry a process's last log lines: indent them under it.
  for (const problem of s.problems.slice(0, LISTED_PROBLEMS)) lines.push(`    - ${problem.split('\n').join('\n        ')}`);
  if (s.problems.length > LISTED_PROBLEMS) lines.push(`    … and ${s.problems.length - LISTED_PROBLEMS} more`);
  lines.push('', `  verdict: ${s.ok ? PASS_TEXT : 'FAIL'}`, '');
  return lines.join('\n');
}
