import type { Queue } from 'bullmq';
import { Gauge, type Registry } from 'prom-client';
import { withTimeout } from '../health/with-timeout.js';

/** The job states counted per queue. */
const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;

/** Longest wait for one queue's counts at scrape time, in ms. */
const READ_TIMEOUT_MS = 1_000;

/**
 * `voodoo_queue_jobs{queue,state}`: jobs per state of each queue (summed over the partitions' queues
 * of one name), read when scraped with one
 * getJobCounts per queue (a few O(1) Redis reads in one script). A queue that cannot be read (Redis
 * away) is left out of that scrape rather than shown with stale numbers. The queues should sit on a
 * fail-fast connection (connectRedisForProbes), so a scrape never waits through an outage.
 */
export function registerQueueGauges(registry: Registry, queues: readonly Queue[]): void {
  new Gauge({
    name: 'voodoo_queue_jobs',
    help: 'Jobs in each queue by state (waiting, active, delayed, prioritized, completed, failed), read at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const totals = new Map<string, Map<string, number> | null>();
      await Promise.all(
        queues.map(async (queue) => {
          try {
            const counts = await withTimeout(queue.getJobCounts(...STATES), READ_TIMEOUT_MS, `${queue.name} counts`);
            const total = totals.get(queue.name) ?? new Map<string, number>();
            if (totals.get(queue.name) === null) return;
            for (const state of STATES) total.set(state, (total.get(state) ?? 0) + (counts[state] ?? 0));
            totals.set(queue.name, total);
          } catch {
            // Left out of this scrape (a partial sum would mislead); voodoo_ready says why.
            totals.set(queue.name, null);
          }
        }),
      );
      for (const [name, total] of totals) {
        if (total !== null) for (const [state, count] of total) this.set({ queue: name, state }, count);
      }
    },
  });
}
