import { ConfigError } from '../../src/errors/errors.js';
import { Catalog } from '../../src/catalog/catalog.js';
import { sampleCatalogItems } from '../../src/catalog/sample-items.js';
import type { FleetSandboxOptions } from '../fleet/fleet.js';

/**
 * What the bench runs:
 * - `webhook`: receiver running, instant fulfilment: the pipeline's own cost on the fast path.
 * - `polling`: no receiver and no webhooks, instant fulfilment: the safety net as the only path.
 * - `realistic`: receiver running, fulfilment 200–2000 ms: orders overlap as they would in production.
 */
export type BenchMode = 'webhook' | 'polling' | 'realistic';

/** Every mode, in the order a default run measures them. */
export const BENCH_MODES: readonly BenchMode[] = ['webhook', 'polling', 'realistic'];

/** How one mode sets up the fleet. */
export interface BenchModeSetup {
  mode: BenchMode;
  /** Start a webhook receiver (and have the sandbox send webhooks to it). */
  receiver: boolean;
  /** Sandbox fulfilment time range, in ms. */
  fulfilment: { minMs: number; maxMs: number };
  /** Worker configuration set by the bench; everything else keeps its production default. */
  env: Record<string, string>;
  /** Why the settings are what they are, for the report. */
  notes: string[];
}

/**
 * Log level of the fleet's processes: per-order info lines would measure the log pipe, not the
 * pipeline. Ready lines are logged whatever the level, so the fleet still sees processes start.
 */
export const BENCH_LOG_LEVEL = 'warn';
const LOG_LEVEL_NOTE = 'LOG_LEVEL=warn: no per-order log lines';

/**
 * Safety-net poll while the receiver works, in ms. The webhook decides each result; the intent job
 * handed the placed order off (it completed) and the ledger's reminder runs it again only for an
 * order whose result was not emitted by then. Production waits 30 s, which would only stretch such a run.
 */
export const WEBHOOK_SAFETY_POLL_MS = 5_000;
const WEBHOOK_SAFETY_POLL_NOTE = `POLL_WEBHOOK_DELAY_MS=${WEBHOOK_SAFETY_POLL_MS} (production default 30000): the webhook decides each result; each intent job hands its placed order off and completes, and the reminder runs it again only for an order whose result was not emitted by then (the Redis figures include any such run)`;

/** First status poll in polling mode, in ms: instant fulfilment makes the production 1 s pure waiting. */
export const POLLING_INITIAL_DELAY_MS = 200;

/** Parse `webhook,polling,…`: known names only, each once, in the order given. */
export function parseBenchModes(text: string): BenchMode[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) throw new ConfigError('modes', `expected one or more of ${BENCH_MODES.join(', ')}`);
  const modes: BenchMode[] = [];
  for (const name of names) {
    const mode = BENCH_MODES.find((m) => m === name);
    if (mode === undefined) throw new ConfigError('modes', `unknown mode "${name}" (expected ${BENCH_MODES.join(', ')})`);
    if (modes.includes(mode)) throw new ConfigError('modes', `mode "${name}" given twice`);
    modes.push(mode);
  }
  return modes;
}

/** The fleet settings of `mode` with `concurrency` jobs per worker process. */
export function benchModeSetup(mode: BenchMode, concurrency: number): BenchModeSetup {
  const env: Record<string, string> = { WORKER_CONCURRENCY: String(concurrency), LOG_LEVEL: BENCH_LOG_LEVEL };
  const common = [
    `WORKER_CONCURRENCY=${concurrency} (production default 32): the sandbox answers at once, so more jobs in flight per process keep the event loop busy`,
    LOG_LEVEL_NOTE,
  ];
  switch (mode) {
    case 'webhook':
      return {
        mode,
        receiver: true,
        fulfilment: { minMs: 0, maxMs: 0 },
        env: { ...env, POLL_WEBHOOK_DELAY_MS: String(WEBHOOK_SAFETY_POLL_MS) },
        notes: [...common, WEBHOOK_SAFETY_POLL_NOTE, 'every other variable at its production default'],
      };
    case 'polling':
      return {
        mode,
        receiver: false,
        fulfilment: { minMs: 0, maxMs: 0 },
        env: { ...env, POLL_INITIAL_DELAY_MS: String(POLLING_INITIAL_DELAY_MS) },
        notes: [
          ...common,
          `POLL_INITIAL_DELAY_MS=${POLLING_INITIAL_DELAY_MS} (production default 1000): fulfilment is instant, so the first poll finds the order settled; settle → result is dominated by this delay`,
          'no receiver, and the sandbox sends no webhooks',
        ],
      };
    case 'realistic':
      return {
        mode,
        receiver: true,
        fulfilment: { minMs: 200, maxMs: 2_000 },
        env: { ...env, POLL_WEBHOOK_DELAY_MS: String(WEBHOOK_SAFETY_POLL_MS) },
        notes: [...common, WEBHOOK_SAFETY_POLL_NOTE, 'fulfilment uniform in 200–2000 ms; every other variable at its production default'],
      };
  }
}

/**
 * Sandbox options of a mode's fleet: no latency, no faults, a balance no bench run can exhaust, and
 * the sample items with unlimited stock (a long run would otherwise sell the sample stock out and
 * measure rejections).
 */
export function benchSandboxOptions(setup: BenchModeSetup, seed: number): FleetSandboxOptions {
  const items = sampleCatalogItems().map((item) => (item.stock === 0 ? item : { ...item, stock: null }));
  return { seed, initialBalance: 1_000_000_000, fulfilment: { ...setup.fulfilment }, catalog: Catalog.fromItems(items) };
}
