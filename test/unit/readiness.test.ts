import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { answerOps } from '../../src/health/ops-routes.js';
import { checksDue, readinessReasons, redisChecksOk, type Readiness, type ReadinessFacts } from '../../src/health/readiness.js';

const healthy: ReadinessFacts = { redisAnswers: true, checkProblems: [], keyRefused: false, own: [] };

describe('readiness reasons', () => {
  it('are none when Redis answers, the checks passed, the key is accepted and the process is fine', () => {
    expect(readinessReasons(healthy)).toEqual([]);
  });

  it('name Redis and REDIS_URL when PING got no answer', () => {
    expect(readinessReasons({ ...healthy, redisAnswers: false })).toEqual(['redis: no answer to PING (REDIS_URL)']);
  });

  it('carry each problem of the startup checks, and say when they have not run yet', () => {
    expect(readinessReasons({ ...healthy, checkProblems: ['maxmemory-policy is allkeys-lru: …'] })).toEqual(['redis: maxmemory-policy is allkeys-lru: …']);
    expect(readinessReasons({ ...healthy, checkProblems: null })).toEqual(['redis: startup checks not run yet']);
  });

  it('say the fleet is paused for a refused key', () => {
    expect(readinessReasons({ ...healthy, keyRefused: true })).toEqual(['api: the API key was refused; the fleet is paused until it is fixed']);
  });

  it('add the process’s own reasons after the shared ones, all of them at once', () => {
    const reasons = readinessReasons({ redisAnswers: false, checkProblems: ['old'], keyRefused: true, own: ['event store'] });
    expect(reasons).toHaveLength(4);
    expect(reasons.at(-1)).toBe('event store');
  });
});

describe('the Redis checks gauge', () => {
  it('is ok when Redis answers and the last run of the checks passed', () => {
    expect(redisChecksOk(healthy)).toBe(true);
  });

  it('fails while Redis does not answer, whatever the last run found', () => {
    expect(redisChecksOk({ ...healthy, redisAnswers: false })).toBe(false);
  });

  it('fails when the last run found a problem, or before the first run', () => {
    expect(redisChecksOk({ ...healthy, checkProblems: ['maxmemory-policy is allkeys-lru: …'] })).toBe(false);
    expect(redisChecksOk({ ...healthy, checkProblems: null })).toBe(false);
  });
});

describe('the startup checks', () => {
  const INTERVAL = 30_000;
  it('are due before their first run', () => {
    expect(checksDue(null, false, 1_000, INTERVAL)).toBe(true);
  });

  it('are due right after Redis came back, however recent the last run', () => {
    expect(checksDue(1_000, true, 1_500, INTERVAL)).toBe(true);
  });

  it('wait for their interval otherwise', () => {
    expect(checksDue(1_000, false, 1_000 + INTERVAL - 1, INTERVAL)).toBe(false);
    expect(checksDue(1_000, false, 1_000 + INTERVAL, INTERVAL)).toBe(true);
  });
});

describe('the ops endpoints', () => {
  const readiness = (reasons: string[]): Readiness => ({
    component: 'worker',
    status: () => ({ ready: reasons.length === 0, reasons, redisChecksOk: true }),
    close: () => undefined,
  });
  const registry = new Registry();

  it('answer /readyz with 200 when ready, 503 with the reasons when not', async () => {
    expect(await answerOps('/readyz', { readiness: readiness([]), registry })).toMatchObject({ status: 200, body: '{"ready":true}' });
    const down = await answerOps('/readyz', { readiness: readiness(['redis: no answer to PING (REDIS_URL)']), registry });
    expect(down.status).toBe(503);
    expect(JSON.parse(down.body)).toEqual({ ready: false, reasons: ['redis: no answer to PING (REDIS_URL)'] });
  });

  it('answer /healthz with 200 whatever readiness says', async () => {
    expect(await answerOps('/healthz', { readiness: readiness(['redis: no answer to PING (REDIS_URL)']), registry })).toMatchObject({ status: 200, body: '{"ok":true}' });
  });

  it('answer /metrics with the process registry in the Prometheus text format', async () => {
    const own = new Registry();
    new Counter({ name: 'voodoo_probe_test_total', help: 'a counter of this test', registers: [own] }).inc(3);
    const answer = await answerOps('/metrics', { readiness: readiness([]), registry: own });
    expect(answer.status).toBe(200);
    expect(answer.contentType).toBe(own.contentType);
    expect(answer.body).toContain('# TYPE voodoo_probe_test_total counter');
    expect(answer.body).toContain('voodoo_probe_test_total 3');
  });
});
