import { Counter, Registry } from 'prom-client';
import type { ApiEndpoint } from '../api/voodoo-client.js';
import type { FundsLimit, ResultSource, ResultStatus } from '../lifecycle/order-state.js';

/** Counters of one process. A Registry per process (no global default registry). */
export interface PipelineMetrics {
  readonly registry: Registry;
  apiCall(endpoint: ApiEndpoint): void;
  /** A result was added to order-results by this process. */
  result(status: ResultStatus, source: ResultSource): void;
  /** A resolution of an `unresolved` result was added to order-results by this process. */
  resolution(status: ResultStatus, source: ResultSource): void;
  fundsShort(limit: FundsLimit): void;
  rateLimited(): void;
  fatalAuth(): void;
  stuck(): void;
  priceAboveMax(): void;
}

export function createPipelineMetrics(): PipelineMetrics {
  const registry = new Registry();
  const apiCalls = new Counter({
    name: 'voodoo_api_calls_total',
    help: 'Requests sent to the Voodoo Center API, by endpoint',
    labelNames: ['endpoint'] as const,
    registers: [registry],
  });
  const results = new Counter({
    name: 'voodoo_results_total',
    help: 'Results added to order-results by this process, by status and by who learned the outcome',
    labelNames: ['status', 'source'] as const,
    registers: [registry],
  });
  const resolutions = new Counter({
    name: 'voodoo_resolutions_total',
    help: 'Resolutions of unresolved results added to order-results by this process, by status and source (webhook: it arrived late; poll: an operator resolved it)',
    labelNames: ['status', 'source'] as const,
    registers: [registry],
  });
  const fundsShort = new Counter({
    name: 'voodoo_funds_short_total',
    help: 'Times an order started waiting because the balance (limit="balance") or SPEND_LIMIT (limit="spend_limit") could not cover it',
    labelNames: ['limit'] as const,
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'voodoo_rate_limited_total',
    help: 'Times the API answered 429 and the fleet backed off',
    registers: [registry],
  });
  const fatalAuth = new Counter({
    name: 'voodoo_fatal_auth_total',
    help: 'Times the API key was refused (invalid or not enabled) and the fleet paused',
    registers: [registry],
  });
  const stuck = new Counter({
    name: 'voodoo_orders_stuck_total',
    help: 'Placed orders flagged as stuck: no terminal status after ORDER_STUCK_AFTER_MS (each flagged once)',
    registers: [registry],
  });
  const priceAboveMax = new Counter({
    name: 'voodoo_price_above_max_total',
    help: 'Results whose charged price exceeded the intent max_price (a stale catalog)',
    registers: [registry],
  });
  return {
    registry,
    apiCall: (endpoint) => apiCalls.inc({ endpoint }),
    result: (status, source) => results.inc({ status, source }),
    resolution: (status, source) => resolutions.inc({ status, source }),
    fundsShort: (limit) => fundsShort.inc({ limit }),
    rateLimited: () => rateLimited.inc(),
    fatalAuth: () => fatalAuth.inc(),
    stuck: () => stuck.inc(),
    priceAboveMax: () => priceAboveMax.inc(),
  };
}
