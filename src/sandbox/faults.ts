import type { Random } from './seeded-random.js';
import type { FaultConfig } from './sandbox-types.js';

/** Every fault the sandbox can inject, named `<endpoint>.<fault>` as in `SandboxStats.faults`. */
export type FaultName =
  | 'token.unavailable'
  | 'balance.rateLimited'
  | 'balance.serverError'
  | 'create.rateLimited'
  | 'create.unavailableBeforeCommit'
  | 'create.badGatewayAfterCommit'
  | 'create.resetAfterCommit'
  | 'create.hangAfterCommit'
  | 'lookup.serverError'
  | 'lookup.rateLimited'
  | 'lookup.notFoundAfterCreate'
  | 'webhook.drop'
  | 'webhook.duplicate'
  | 'webhook.delay';

const DEFAULT_RETRY_AFTER_SECONDS = 1;
const DEFAULT_HANG_MS = 30_000;
const DEFAULT_NOT_FOUND_WINDOW_MS = 200;
const DEFAULT_WEBHOOK_DELAY_MS = 1_000;

function probabilityOf(config: FaultConfig, name: FaultName): number {
  switch (name) {
    case 'token.unavailable':
      return config.token?.unavailable ?? 0;
    case 'balance.rateLimited':
      return config.balance?.rateLimited ?? 0;
    case 'balance.serverError':
      return config.balance?.serverError ?? 0;
    case 'create.rateLimited':
      return config.create?.rateLimited ?? 0;
    case 'create.unavailableBeforeCommit':
      return config.create?.unavailableBeforeCommit ?? 0;
    case 'create.badGatewayAfterCommit':
      return config.create?.badGatewayAfterCommit ?? 0;
    case 'create.resetAfterCommit':
      return config.create?.resetAfterCommit ?? 0;
    case 'create.hangAfterCommit':
      return config.create?.hangAfterCommit ?? 0;
    case 'lookup.serverError':
      return config.lookup?.serverError ?? 0;
    case 'lookup.rateLimited':
      return config.lookup?.rateLimited ?? 0;
    case 'lookup.notFoundAfterCreate':
      return config.lookup?.notFoundAfterCreate ?? 0;
    case 'webhook.drop':
      return config.webhook?.drop ?? 0;
    case 'webhook.duplicate':
      return config.webhook?.duplicate ?? 0;
    case 'webhook.delay':
      return config.webhook?.delay ?? 0;
  }
}

/** Decides, from a seeded random stream, which requests get which fault, and counts what it injected. */
export class FaultInjector {
  private config: FaultConfig;
  private readonly injected = new Map<FaultName, number>();

  constructor(
    config: FaultConfig,
    private readonly random: Random,
  ) {
    this.config = config;
  }

  /** Replace the configuration; counts are kept. */
  set(config: FaultConfig): void {
    this.config = config;
  }

  /**
   * Whether this request gets the fault, without counting it (for faults whose effect shows later).
   * Draws from the stream only when the fault is enabled, so a clean run costs nothing and
   * enabling one fault does not reshuffle the others' decisions.
   */
  decide(name: FaultName): boolean {
    const p = probabilityOf(this.config, name);
    if (p <= 0) return false;
    return p >= 1 || this.random.next() < p;
  }

  /** Count one injection of `name`. */
  record(name: FaultName): void {
    this.injected.set(name, (this.injected.get(name) ?? 0) + 1);
  }

  /** Decide and, on a hit, count. */
  roll(name: FaultName): boolean {
    const hit = this.decide(name);
    if (hit) this.record(name);
    return hit;
  }

  /** Injections so far, by fault name. */
  counts(): Record<string, number> {
    return Object.fromEntries(this.injected);
  }

  /** Retry-After for 429s, in seconds; null to send none. */
  get retryAfterSeconds(): number | null {
    return this.config.retryAfterSeconds === undefined ? DEFAULT_RETRY_AFTER_SECONDS : this.config.retryAfterSeconds;
  }

  /** How long a hanging create waits before answering, in ms. */
  get hangMs(): number {
    return this.config.hangMs ?? DEFAULT_HANG_MS;
  }

  /** How long an order answers 404 after create when `lookup.notFoundAfterCreate` hits, in ms. */
  get notFoundWindowMs(): number {
    return this.config.lookup?.notFoundWindowMs ?? DEFAULT_NOT_FOUND_WINDOW_MS;
  }

  /** Lateness of a delayed webhook, in ms. */
  get webhookDelayMs(): number {
    return this.config.webhook?.delayMs ?? DEFAULT_WEBHOOK_DELAY_MS;
  }
}
