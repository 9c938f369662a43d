import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createPipelineMetrics } from '../../src/metrics/pipeline-metrics.js';
import { createWebhookCounter } from '../../src/metrics/webhook-metrics.js';

// deploy/prometheus/alerts.yml reads these counters through increase(), which sees nothing of a
// series' first event unless the series had a sample before it.
describe('the series the alerts read', () => {
  it('exist at 0 for unresolved results before any result was emitted', async () => {
    const text = await createPipelineMetrics().registry.metrics();
    for (const source of ['poll', 'webhook', 'worker']) {
      expect(text).toContain(`voodoo_results_total{status="unresolved",source="${source}"} 0`);
    }
    expect(text).toContain('voodoo_orders_stuck_total 0');
  });

  it('exist at 0 for every webhook outcome before the first delivery', async () => {
    const registry = new Registry();
    const count = createWebhookCounter(registry);
    expect(await registry.metrics()).toContain('voodoo_webhooks_total{outcome="bad_signature"} 0');
    count('bad_signature');
    expect(await registry.metrics()).toContain('voodoo_webhooks_total{outcome="bad_signature"} 1');
  });
});
