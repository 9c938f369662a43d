import type { OrderStatus, ProductType } from '../api/order.js';

/**
 * Fault probabilities (0..1) per endpoint. Every fault is opt-in: the default is a well-behaved API.
 * "Before commit" means nothing was stored or charged; "after commit" means the order exists and
 * was charged, but the client sees a failure.
 */
export interface FaultConfig {
  token?: {
    /** 503 on POST /auth/token/client. */
    unavailable?: number;
  };
  balance?: {
    /** 429 with Retry-After. */
    rateLimited?: number;
    /** 500. */
    serverError?: number;
  };
  create?: {
    /** 503 before commit: nothing charged. */
    unavailableBeforeCommit?: number;
    /** 502 after commit: order exists and is charged. */
    badGatewayAfterCommit?: number;
    /** Connection reset (socket destroyed) after commit. */
    resetAfterCommit?: number;
    /** Commit, then answer only after `hangMs` (a client with a shorter timeout gives up). */
    hangAfterCommit?: number;
    /** 429 with Retry-After, before anything is stored. */
    rateLimited?: number;
  };
  lookup?: {
    /** 500. */
    serverError?: number;
    /** 429 with Retry-After. */
    rateLimited?: number;
    /** Probability that a new order answers 404 on lookup for `notFoundWindowMs` after create. */
    notFoundAfterCreate?: number;
    /** How long that 404 lasts, in ms. Default 200. */
    notFoundWindowMs?: number;
  };
  webhook?: {
    /** The event is never sent. */
    drop?: number;
    /** The event is sent twice. */
    duplicate?: number;
    /** The event is sent `delayMs` late. */
    delay?: number;
    /** Lateness of a delayed event, in ms. Default 1000. */
    delayMs?: number;
  };
  /** Retry-After value sent with every 429, in seconds. Default 1. Set null to omit the header. */
  retryAfterSeconds?: number | null;
  /** How long a hanging create waits before answering, in ms. Default 30000. */
  hangMs?: number;
}

/** Share of terminal outcomes; normalised, so {completed: 8, partial: 1, failed: 1} works. */
export interface OutcomeMix {
  completed: number;
  partial: number;
  failed: number;
}

/** Options of `startSandbox`. Every duration is in milliseconds, every amount in major units. */
export interface SandboxOptions {
  /** The one valid `ak_` key. */
  apiKey: string;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /** Starting balance. Default 1000. */
  initialBalance?: number;
  /** Access-token lifetime. Default 2 h. */
  tokenTtlMs?: number;
  /** Fulfilment time range: each order settles after a uniform random time in [min, max]. Default 50..200. */
  fulfilment?: { minMs?: number; maxMs?: number; outcomes?: OutcomeMix };
  /** Where and how to send webhooks; none are sent when omitted. */
  webhook?: {
    url: string;
    secret: string;
    /** Retries after the first failed delivery. Default 3. */
    retries?: number;
    /** Gap between deliveries. Default 60000. */
    retryGapMs?: number;
    /** A delivery not answered within this counts as failed. Default 30000. */
    timeoutMs?: number;
  };
  faults?: FaultConfig;
  /** Seed for the sandbox's random choices (outcomes, faults, codes), for repeatable runs. */
  seed?: number;
  /** Simulate an account without API-key auth: every token exchange answers 403. Default false. */
  apiKeyAuthDisabled?: boolean;
}

/** The sandbox's own record of one order: the ground truth tests compare results against. */
export interface SandboxOrderRecord {
  id: string;
  merchantOrderId: string | null;
  itemId: number;
  productType: ProductType;
  quantity: number;
  status: OrderStatus;
  deliveredQuantity: number;
  price: number;
  refundAmount: number;
  codes: string[];
  error: string;
  errorMessage: string;
  createdAt: string;
  completedAt: string | null;
  /** When the order reached its terminal status (epoch ms), or null. */
  settledAtMs: number | null;
  /** Webhook deliveries attempted for this order. */
  webhookAttempts: number;
}

/** API calls received, by endpoint (every request counts, faulted or not). */
export interface SandboxCallCounts {
  token: number;
  balance: number;
  create: number;
  lookup: number;
}

/** Sandbox statistics. */
export interface SandboxStats {
  calls: SandboxCallCounts;
  /** Faults injected, by name (e.g. `create.resetAfterCommit`). */
  faults: Record<string, number>;
  webhooks: {
    /** HTTP deliveries attempted (first tries, retries and duplicates). */
    sent: number;
    /** Deliveries answered 200. */
    acknowledged: number;
    /** Deliveries answered otherwise, not answered within the timeout, or not connected. */
    failed: number;
    /** Events never sent (the `webhook.drop` fault). */
    dropped: number;
    /** Events given up after their last retry failed. */
    abandoned?: number;
  };
  /** Sum of every charge, and of every refund credited. */
  charged: number;
  refunded: number;
}

/** A running sandbox. */
export interface Sandbox {
  /** Base URL, e.g. `http://127.0.0.1:43117` (the API lives under /api/v1). */
  readonly url: string;
  /** Replace the fault configuration at run time. */
  setFaults(faults: FaultConfig): void;
  /** Credit the balance (simulates a merchant top-up). */
  topUp(amount: number): void;
  /** Set the balance outright. */
  setBalance(amount: number): void;
  /** Current balance. */
  balance(): number;
  /** The sandbox's record of every order. */
  orders(): SandboxOrderRecord[];
  stats(): SandboxStats;
  /** Revoke the API key: new exchanges answer 401, issued tokens stay valid. */
  revokeKey(): void;
  /** Stop listening, cancel timers, abort pending webhook deliveries. */
  close(): Promise<void>;
}

/** The sandbox `startSandbox` returns: a `Sandbox` with the extra controls of the local implementation. */
export interface LocalSandbox extends Sandbox {
  /** The fault configuration in force. */
  faults(): FaultConfig;
  /** Turn API-key auth off (token exchanges answer 403) or back on. */
  setApiKeyAuthDisabled(disabled: boolean): void;
}
