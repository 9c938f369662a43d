import { Gauge, type Registry } from 'prom-client';
import type { Readiness } from '../health/readiness.js';

/**
 * `voodoo_ready{component}` and `voodoo_redis_checks_ok`, read from the process's readiness when
 * scraped (what /readyz would answer at that moment).
 */
export function registerHealthGauges(registry: Registry, readiness: Readiness): void {
  new Gauge({
    name: 'voodoo_ready',
    help: 'Whether this process can do its job (1) or not (0), as GET /readyz answers, by component',
    labelNames: ['component'] as const,
    registers: [registry],
    collect() {
      this.set({ component: readiness.component }, readiness.status().ready ? 1 : 0);
    },
  });
  new Gauge({
    name: 'voodoo_redis_checks_ok',
    help: 'Whether Redis answers and the last periodic run of the Redis startup checks (noeviction, version) passed (1) or not (0)',
    registers: [registry],
    collect() {
      this.set(readiness.status().redisChecksOk ? 1 : 0);
    },
  });
}
