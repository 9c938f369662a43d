import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * The one metrics registry of a process (no global default registry), with prom-client's process
 * and Node metrics (CPU, memory, event loop lag, GC, handles) on it.
 */
export function createProcessRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
