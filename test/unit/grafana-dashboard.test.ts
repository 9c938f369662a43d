import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string): string => readFileSync(`${root}/${path}`, 'utf8');

interface Target {
  expr?: string;
  datasource?: { uid?: string };
}
interface Panel {
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
}
interface RuleFile {
  groups: { rules: { alert?: string; record?: string; expr: string }[] }[];
}

/**
 * The metrics the fleet's processes expose (the shared names of issue 9). A dashboard or alert that
 * queries anything else shows nothing, silently.
 */
const FLEET_METRICS = [
  'voodoo_api_request_duration_seconds',
  'voodoo_api_errors_total',
  'voodoo_enqueue_to_result_seconds',
  'voodoo_settle_to_result_seconds',
  'voodoo_webhooks_total',
  'voodoo_results_total',
  'voodoo_orders_stuck_total',
  'voodoo_price_above_max_total',
  'voodoo_funds_short_total',
  'voodoo_rate_limited_total',
  'voodoo_fatal_auth_total',
  'voodoo_api_calls_total',
  'voodoo_queue_jobs',
  'voodoo_balance',
  'voodoo_intents_waiting_for_funds',
  'voodoo_fleet_paused',
  'voodoo_ready',
  'voodoo_redis_checks_ok',
];
const HISTOGRAMS = ['voodoo_api_request_duration_seconds', 'voodoo_enqueue_to_result_seconds', 'voodoo_settle_to_result_seconds'];

const alertRules = parse(read('deploy/prometheus/alerts.yml')) as RuleFile;
const recorded = alertRules.groups.flatMap((g) => g.rules.flatMap((r) => (r.record === undefined ? [] : [r.record])));
const dashboard = JSON.parse(read('deploy/grafana/voodoo-fulfillment.json')) as Dashboard;
const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => (t.expr === undefined ? [] : [t.expr])));

/** Node's default metrics as prom-client names them (every process collects them on its registry). */
async function defaultMetricNames(): Promise<string[]> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
  registry.clear();
  return names;
}

/**
 * The metric names a PromQL expression reads: identifiers that are not functions, keywords, label
 * names (in braces or by/without lists), durations or Grafana variables. Histogram series
 * (_bucket, _sum, _count) count as their histogram.
 */
function metricsIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without']);
  const names = [...stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)]
    .filter((m) => m[2] === undefined && !keywords.has(m[1] ?? ''))
    .map((m) => m[1] ?? '');
  return names.map((name) => {
    const histogram = HISTOGRAMS.find((h) => name === `${h}_bucket` || name === `${h}_sum` || name === `${h}_count`);
    return histogram ?? name;
  });
}

describe('the Grafana dashboard', () => {
  it('queries only metrics the processes expose, the recording rules and Node default metrics', async () => {
    const known = new Set([...FLEET_METRICS, ...recorded, ...(await defaultMetricNames())]);
    expect(queries.length).toBeGreaterThan(10);
    for (const query of queries) {
      const metrics = metricsIn(query);
      expect(metrics.length, query).toBeGreaterThan(0);
      for (const metric of metrics) expect(known.has(metric), `${metric} in ${query}`).toBe(true);
    }
  });

  it('shows every fleet metric, the histograms as p50 and p99', () => {
    const shown = new Set(queries.flatMap(metricsIn));
    for (const metric of FLEET_METRICS) expect(shown.has(metric), metric).toBe(true);
    for (const histogram of HISTOGRAMS) {
      for (const quantile of ['0.5', '0.99']) {
        expect(queries.some((q) => q.includes(`histogram_quantile(${quantile}`) && q.includes(`${histogram}_bucket`)), `${histogram} p${quantile}`).toBe(true);
      }
    }
  });

  it('reads the datasource Grafana is provisioned with, and is loaded from where compose mounts it', () => {
    const datasources = parse(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as { datasources: { uid: string; url: string }[] };
    const [datasource] = datasources.datasources;
    expect(datasource?.url).toBe('http://prometheus:9090');
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource?.uid, panel.title).toBe(datasource?.uid);
      for (const target of panel.targets ?? []) expect(target.datasource?.uid, panel.title).toBe(datasource?.uid);
    }
    const providers = parse(read('deploy/grafana/provisioning/dashboards/voodoo-fulfillment.yml')) as { providers: { options: { path: string } }[] };
    const compose = parse(read('docker-compose.services.yml'), { merge: true }) as { services: Record<string, { volumes?: string[] }> };
    const mounts = compose.services.grafana?.volumes ?? [];
    expect(mounts).toContain(`./deploy/grafana/voodoo-fulfillment.json:${providers.providers[0]?.options.path}/voodoo-fulfillment.json:ro`);
    expect(mounts).toContain('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro');
  });
});

describe('the alert rules', () => {
  it('query only metrics the processes expose', () => {
    const known = new Set([...FLEET_METRICS, ...recorded]);
    const rules = alertRules.groups.flatMap((g) => g.rules);
    expect(rules.filter((r) => r.alert !== undefined).length).toBeGreaterThanOrEqual(9);
    for (const rule of rules) {
      for (const metric of metricsIn(rule.expr)) expect(known.has(metric), `${metric} in ${rule.alert ?? rule.record}`).toBe(true);
    }
  });

  it('tell the on-call what happened and what to do', () => {
    for (const rule of alertRules.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined)) {
      const { labels, annotations } = rule as { labels?: { severity?: string }; annotations?: Record<string, string> };
      expect(['warning', 'critical'], rule.alert).toContain(labels?.severity);
      for (const field of ['summary', 'description', 'runbook']) expect(annotations?.[field]?.length ?? 0, `${rule.alert} ${field}`).toBeGreaterThan(40);
    }
  });
});
