import type { StepSummary } from './step-summary.js';

/** Which path the traced orders take. */
export type StepTraceMode = 'webhook' | 'polling';

/** One traced run: orders of one mode, one at a time. */
export interface StepTrace {
  mode: StepTraceMode;
  /** The sandbox's fulfilment time of every order, in ms. */
  fulfilmentMs: number;
  summary: StepSummary;
}

/** What the step tracer produced: steps.json holds it. */
export interface StepCostsReport {
  /** When the trace started, ISO 8601. */
  date: string;
  /** redis_version of the traced server. */
  redis: string;
  traces: StepTrace[];
}

const MODE_TEXT: Record<StepTraceMode, string> = {
  webhook: 'webhook mode (the intent job hands the placed order off and completes; the receiver finalizes the order from its event)',
  polling: 'polling mode (no receiver: the parked job wakes, looks the order up and finishes it)',
};

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`)];
}

/** `evalsha 1 + hmget 1 + hset 2`, or `none`. */
export function breakdownText(breakdown: readonly { command: string; calls: number }[]): string {
  return breakdown.length === 0 ? 'none' : breakdown.map((c) => `${c.command} ${c.calls}`).join(' + ');
}

function traceSection(trace: StepTrace, heading: string): string[] {
  const s = trace.summary;
  const rows = s.steps.map((step) => [
    step.step,
    String(step.commands.median),
    step.commands.mean.toFixed(2),
    String(step.sent.median),
    step.sent.mean.toFixed(2),
    String(step.usec.median),
    step.usec.mean.toFixed(1),
    breakdownText(step.breakdown),
    `${step.ranIn}/${s.orders}`,
  ]);
  rows.push([
    '**whole order**',
    `**${s.perOrder.commands.median}**`,
    s.perOrder.commands.mean.toFixed(2),
    String(s.perOrder.sent.median),
    s.perOrder.sent.mean.toFixed(2),
    String(s.perOrder.usec.median),
    s.perOrder.usec.mean.toFixed(1),
    'every segment of the order, background included',
    '',
  ]);
  const perOrderRun = s.orders > 0 ? s.wholeRun.commands / s.orders : 0;
  return [
    `${heading} ${MODE_TEXT[trace.mode]}`,
    '',
    `${s.orders} orders, one at a time, sandbox fulfilment ${trace.fulfilmentMs} ms. ` +
      `Whole traced run: ${s.wholeRun.commands} commands (${perOrderRun.toFixed(1)} per order), ${s.wholeRun.sent} sent, ${s.wholeRun.usec} µs of Redis time.`,
    '',
    ...table(['step', 'cmds / order (median)', 'mean', 'sent / order (median)', 'mean', 'Redis µs (median)', 'mean', 'commands of the median order', 'ran in'], rows),
    '',
  ];
}

/** What each step covers, once for every trace (the steps of the report's tables). */
function definitions(r: StepCostsReport): string[] {
  const seen = new Map<string, string>();
  for (const trace of r.traces) for (const step of trace.summary.steps) if (!seen.has(step.step)) seen.set(step.step, step.covers);
  return [...seen].map(([step, covers]) => `- **${step}**: ${covers}`);
}

/**
 * The per-step section: one table per traced mode, what each step covers and how the figures are
 * taken. `heading` is the markdown level of the section's title (`##` inside the bench report).
 */
export function renderStepCostsSection(r: StepCostsReport, heading = '##'): string[] {
  const sub = `${heading}#`;
  return [
    `${heading} Where the commands go (per step)`,
    '',
    'The real components in one process (BullMQ Worker with concurrency 1 running the order job handler, the webhook receiver and its finalizer, ' +
      'the sandbox with no latency and no faults) on a private redis-server, driving one order at a time. ' +
      "Every command is attributed to a step by reading `INFO commandstats` on a connection of the tracer's own before and after each step " +
      '(its own INFO calls left out); steps are delimited by wrapping the injected dependencies (tools/bench/step-table.ts).',
    '',
    ...r.traces.flatMap((trace) => traceSection(trace, sub)),
    `${sub} What each step covers`,
    '',
    ...definitions(r),
    '',
    `${sub} How the figures are taken`,
    '',
    '- Commands: `INFO commandstats` calls; a command a Lua script runs counts one, besides the EVALSHA that ran it (as in the burst figures).',
    "- Sent: commands the process's ioredis clients wrote to Redis (ioredis's `ioredis:command` diagnostics channel), a script counting one: round trips, roughly (a pipeline's commands count one each).",
    "- Redis µs: commandstats `usec`; an EVALSHA's time includes its commands', which are counted again on their own, so a step's µs overstates its Redis time by its scripts' inner commands.",
    '- Median: the lower median over the orders (a value one order really had; its commands are listed), 0 for an order the step did not run in; mean alongside. ' +
      'Background commands (BullMQ blocking fetch loop, stalled checks, heartbeat) fall into whatever step they happen in, so medians are the figures to compare; ' +
      'means include the occasional balance read (every BALANCE_CACHE_MS) and token read.',
    '- Steps are serialized (one lock), and in webhook mode the receiver stores an event only once the job has parked: the usual path, the same every order.',
    '- One order at a time: a blocked worker wakes for each job (its BZPOPMIN is in fetch); under load BullMQ fetches the next job inside moveToFinished instead.',
    '',
  ];
}

/** steps.md: the section as a document of its own. */
export function renderStepCostsMarkdown(r: StepCostsReport): string {
  return [`# voodoo-fulfillment: Redis commands per step, ${r.date}`, '', `Redis ${r.redis}.`, '', ...renderStepCostsSection(r, '##')].join('\n');
}
