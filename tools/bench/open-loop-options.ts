import { FleetError } from '../fleet/fleet-error.js';

/** Fulfilment of the open-loop sandbox: `instant` (0 ms) or `realistic` (uniform 200–2000 ms, as the burst bench's realistic mode). */
export type OpenLoopFulfilment = 'instant' | 'realistic';

/** Faults of the open-loop sandbox: `none`, or `default` (see open-loop-setup.ts). */
export type OpenLoopFaults = 'none' | 'default';

/** What an open-loop run measures, validated. */
export interface OpenLoopPlan {
  /** Offered rates, in intents/s, ascending: one run each. */
  rates: number[];
  /** Whether the run was asked as a sweep (`--rates`) rather than one rate (`--rate`). */
  sweep: boolean;
  /** How long intents arrive at each rate, in s. */
  durationS: number;
  /** Arrivals of the first this many seconds of each rate are warm-up, left out of the figures. */
  warmUpS: number;
  fulfilment: OpenLoopFulfilment;
  faults: OpenLoopFaults;
}

/** The open-loop options as the command line gave them (strings, unparsed), and which options were given at all. */
export interface OpenLoopOptionInput {
  rate?: string;
  rates?: string;
  duration?: string;
  warmUp?: string;
  fulfilment?: string;
  faults?: string;
  /** Names (`--orders`, …) of every option given on the command line, defaults left out. */
  given: ReadonlySet<string>;
}

/** Default arrival window per rate, in s. */
export const DEFAULT_DURATION_S = 20;
/**
 * Default warm-up, in ms: arrivals of the first this many ms are left out of the percentiles, so the
 * window must be longer. A fresh fleet starts JIT-cold: at high rates its first seconds build a
 * backlog a longer warm-up (`--warm-up`) leaves out.
 */
export const WARM_UP_MS = 2_000;
/** Shortest window: warm-up plus at least 1 s measured, in s. */
export const MIN_DURATION_S = 3;
const MAX_DURATION_S = 3_600;
const MAX_RATE = 100_000;

/** Options of the burst bench that mean nothing to an open-loop run. */
const BURST_ONLY = ['--orders', '--modes', '--batch-size', '--cluster', '--partitions', '--kill-primary', '--soak', '--soak-every', '--steps', '--cpu-prof', '--update-readme'] as const;
const OPEN_LOOP_ONLY = ['--duration', '--warm-up', '--fulfilment', '--faults'] as const;

function rateValue(option: string, text: string): number {
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (trimmed === '' || !Number.isFinite(value) || value <= 0 || value > MAX_RATE) {
    throw new FleetError(`${option} expects intents per second in (0, ${MAX_RATE}] (got "${text}")`);
  }
  return value;
}

/** `100,300,500` → [100, 300, 500]: positive rates, each once, run ascending. */
export function parseRateList(text: string, option = '--rates'): number[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.every((p) => p === '')) throw new FleetError(`${option} expects a comma-separated list of rates (got "${text}")`);
  const rates = parts.map((p) => rateValue(option, p));
  const seen = new Set<number>();
  for (const rate of rates) {
    if (seen.has(rate)) throw new FleetError(`${option} lists ${rate} twice`);
    seen.add(rate);
  }
  return [...rates].sort((a, b) => a - b);
}

function oneOf<T extends string>(option: string, text: string | undefined, allowed: readonly T[], fallback: T): T {
  if (text === undefined) return fallback;
  const found = allowed.find((a) => a === text.trim());
  if (found === undefined) throw new FleetError(`${option} expects ${allowed.join(' or ')} (got "${text}")`);
  return found;
}

/**
 * The open-loop plan of a `bench` command line, or null when it asks for the burst bench (no
 * `--rate`, no `--rates`). Throws a FleetError naming the option for a bad value or combination:
 * `--rate` with `--rates`, a burst-only option (`--orders`, `--modes`, …) with either, or an
 * open-loop option (`--duration`, `--fulfilment`, `--faults`) without either.
 */
export function openLoopPlan(input: OpenLoopOptionInput): OpenLoopPlan | null {
  if (input.rate === undefined && input.rates === undefined) {
    const stray = OPEN_LOOP_ONLY.find((o) => input.given.has(o));
    if (stray !== undefined) throw new FleetError(`${stray} needs --rate or --rates`);
    return null;
  }
  if (input.rate !== undefined && input.rates !== undefined) throw new FleetError('--rate and --rates exclude each other: give one');
  const option = input.rate !== undefined ? '--rate' : '--rates';
  const burst = BURST_ONLY.find((o) => input.given.has(o));
  if (burst !== undefined) throw new FleetError(`${burst} is for the burst bench; ${option} runs the open-loop bench (webhook mode) without it`);
  const rates = input.rate !== undefined ? [rateValue('--rate', input.rate)] : parseRateList(input.rates ?? '');
  let durationS = DEFAULT_DURATION_S;
  if (input.duration !== undefined) {
    durationS = Number(input.duration.trim());
    if (input.duration.trim() === '' || !Number.isInteger(durationS) || durationS < MIN_DURATION_S || durationS > MAX_DURATION_S) {
      throw new FleetError(
        `--duration expects whole seconds in [${MIN_DURATION_S}, ${MAX_DURATION_S}] (the first ${WARM_UP_MS / 1000} s are warm-up) (got "${input.duration}")`,
      );
    }
  }
  let warmUpS = WARM_UP_MS / 1000;
  if (input.warmUp !== undefined) {
    warmUpS = Number(input.warmUp.trim());
    if (input.warmUp.trim() === '' || !Number.isInteger(warmUpS) || warmUpS < 1 || warmUpS >= durationS) {
      throw new FleetError(`--warm-up expects whole seconds from 1 to less than --duration (${durationS}) (got "${input.warmUp}")`);
    }
  }
  return {
    rates,
    sweep: input.rates !== undefined,
    durationS,
    warmUpS,
    fulfilment: oneOf('--fulfilment', input.fulfilment, ['instant', 'realistic'], 'instant'),
    faults: oneOf('--faults', input.faults, ['none', 'default'], 'none'),
  };
}

/** The report's file name stem: `open-loop-100-300-500` (a single rate: `open-loop-200`). */
export function openLoopFileStem(rates: readonly number[]): string {
  return `open-loop-${rates.map(String).join('-')}`;
}
