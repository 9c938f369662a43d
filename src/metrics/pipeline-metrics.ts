import { Counter, Registry } from 'prom-client';
import type { ApiEndpoint } from '../api/voodoo-client.js';
import type { ResultStatus } from '../lifecycle/order-state.js';

/** Counters of one process. A Registry per process (no global default registry). */
export interface PipelineMetrics {
  readonly registry: Registry;
  apiCall(endpoint: ApiEndpoint): void;
  result(status: ResultStatus): void;
  fundsShort(): void;
  rateLimited(): void;
  fatalAuth(): void;
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
    help: 'Results emitted to order-results, by status',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const fundsShort = new Counter({
    name: 'voodoo_funds_short_total',
    help: 'Times an order had to wait because the balance could not cover it',
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
  return {
    registry,
    apiCall: (endpoint) => apiCalls.inc({ endpoint }),
    result: (status) => results.inc({ status }),
    fundsShort: () => fundsShort.inc(),
    rateLimited: () => rateLimited.inc(),
    fatalAuth: () => fatalAuth.inc(),
  };
}
