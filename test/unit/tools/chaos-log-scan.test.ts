import { describe, expect, it } from 'vitest';
import { LogLeakScanner } from '../../../tools/chaos/chaos-log-scan.js';

const API_KEY = 'ak_chaos_0123456789abcdef';
const SECRET = 'whsec_chaos_fedcba9876543210';
const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzYW5kYm94LWFjY291bnQiLCJleHAiOjE3OTk5OTk5OTl9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
const CODE = 'VOODOO-ABCD-EFGH-JKLM';

function scanner(): LogLeakScanner {
  return new LogLeakScanner({ apiKey: API_KEY, webhookSecret: SECRET });
}

describe('LogLeakScanner', () => {
  it('finds nothing in ordinary worker lines, redacted ones included', () => {
    const s = scanner();
    s.scan('worker-1', '{"level":30,"msg":"result emitted","merchant_order_id":"chaos-0001","status":"completed","order_id":"3f0c2a8e-1b2c-4d5e-8f90-123456789abc"}');
    s.scan('worker-1', '{"level":30,"msg":"order placed","codes":"[Redacted]","api_key":"[Redacted]","created_at":"2026-06-10T12:00:00.000Z","peak_rss":12}');
    s.scan('webhook-1', 'Error: OUT_OF_STOCK at handler (file:///app/dist/x.js:10:5)');
    expect(s.leaks([CODE])).toEqual([]);
  });

  it('reports the API key, the webhook secret, an access token and any other ak_ key, without quoting them', () => {
    const s = scanner();
    s.scan('worker-1', `{"msg":"exchanging","body":{"api_key":"${API_KEY}"}}`);
    s.scan('webhook-1', `{"msg":"verify","secret":"${SECRET}"}`);
    s.scan('worker-2', `{"msg":"call","headers":{"authorization":"Bearer ${JWT}"}}`);
    s.scan('worker-2', '{"msg":"old key ak_live_9999999999 refused"}');
    const leaks = s.leaks([]);
    expect(leaks.map((l) => [l.process, l.line, l.kind])).toEqual([
      ['worker-1', 1, 'api key'],
      ['webhook-1', 1, 'webhook secret'],
      ['worker-2', 1, 'access token'],
      ['worker-2', 2, 'api key'],
    ]);
    const printed = JSON.stringify(leaks);
    for (const secret of [API_KEY, SECRET, JWT, 'ak_live_9999999999', 'eyJhbGciOiJIUzI1NiIs']) expect(printed).not.toContain(secret);
    expect(leaks[2]?.excerpt).toContain('Bearer [LEAK]');
  });

  it('reports a truncated access token (header and the start of the payload)', () => {
    const s = scanner();
    s.scan('worker-1', `{"msg":"token ${JWT.slice(0, 50)}…"}`);
    expect(s.leaks([]).map((l) => l.kind)).toEqual(['access token']);
  });

  it('reports a delivered code once the run says which codes were delivered, and a codes array of any format at once', () => {
    const s = scanner();
    s.scan('worker-3', `{"msg":"settled","detail":"got ${CODE} for you"}`);
    s.scan('worker-3', '{"msg":"settled","order":{"codes":["gift-1234"]}}');
    s.scan('worker-3', '{"msg":"not a code","ref":"ABC-DEF-GHI"}');
    const leaks = s.leaks([CODE, 'gift-1234']);
    expect(leaks.map((l) => [l.line, l.kind])).toEqual([
      [2, 'key code'],
      [1, 'key code'],
    ]);
    expect(JSON.stringify(leaks)).not.toContain(CODE);
    expect(JSON.stringify(leaks)).not.toContain('gift-1234');
  });

  it('counts the lines of each process, so a lost line can be noticed', () => {
    const s = scanner();
    for (let i = 0; i < 3; i++) s.scan('worker-1', `{"n":${i}}`);
    s.scan('webhook-1', '{}');
    expect(s.lineCounts()).toEqual(new Map([['worker-1', 3], ['webhook-1', 1]]));
  });

  it('keeps at most maxLeaks leaks and counts the rest', () => {
    const s = new LogLeakScanner({ apiKey: API_KEY, webhookSecret: SECRET, maxLeaks: 2 });
    for (let i = 0; i < 5; i++) s.scan('worker-1', `key ${API_KEY}`);
    expect(s.leaks([])).toHaveLength(2);
    expect(s.droppedLeaks()).toBe(3);
  });
});
