import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseIntent, type OrderIntent } from '../../../src/lifecycle/intent.js';
import type { OrderEvent } from '../../../src/lifecycle/order-state.js';
import { intentJobId } from '../../../src/queue/job-ids.js';
import type { LocalSandbox } from '../../../src/sandbox/sandbox-types.js';
import { driveLedger } from '../../support/lifecycle.js';
import { WEBHOOK_SECRET } from '../../support/pipeline.js';
import { uniquePrefix } from '../../support/redis.js';
import { Resources, startHandlerKit, startKitReceiver, startTestSandbox, type HandlerKit } from './handler-kit.js';

/**
 * Rejections after an ambiguous attempt (issue 7, item 3): a retry's rejection that an identical
 * earlier request would have met too proves no earlier attempt landed, so the order ends `rejected`
 * at once with the API's reason; what a landed attempt could explain waits for the webhook, and
 * ends `unresolved` only after the resolve deadline. No catalog is loaded: the API decides.
 */

const resources = new Resources();
afterEach(() => resources.close());

/** Intents the API refuses whatever the account's state: the rejection is provable. */
const INVALID: { kind: string; intent: Omit<OrderIntent, 'merchant_order_id'>; reason: string }[] = [
  { kind: 'an unknown item', intent: { item_id: 999999, quantity: 1 }, reason: 'item_id: no such item' },
  { kind: 'a quantity out of range', intent: { item_id: 4091, quantity: 11 }, reason: 'quantity: must be between 1 and 10' },
  { kind: 'a missing required field', intent: { item_id: 5100, quantity: 10, fields: { player_id: 'p-1' } }, reason: 'fields.server: is required' },
];

interface Scenario {
  sandbox: LocalSandbox;
  proxy: FaultProxy;
  kit: HandlerKit;
}

/** A cause of ambiguity for the next create: armed before the intent is enqueued, disarmed before the retry. */
interface Cause {
  name: string;
  /** HTTP_TIMEOUT_MS of the worker (short where the cause is a hang). */
  httpTimeoutMs: number;
  arm(s: Scenario): void;
  disarm(s: Scenario): void;
}

const CAUSES: Cause[] = [
  {
    name: 'a 503 before commit',
    httpTimeoutMs: 5_000,
    arm: (s) => s.sandbox.setFaults({ create: { unavailableBeforeCommit: 1 } }),
    disarm: (s) => s.sandbox.setFaults({}),
  },
  // The sandbox checks the request before it commits, so an invalid intent never reaches its
  // after-commit faults: a gateway in front of it loses the API's answer instead.
  { name: 'a 502 after commit', httpTimeoutMs: 5_000, arm: (s) => s.proxy.failNextCreate('bad_gateway'), disarm: () => {} },
  { name: 'a connection reset after commit', httpTimeoutMs: 5_000, arm: (s) => s.proxy.failNextCreate('reset'), disarm: () => {} },
  { name: 'a hang past HTTP_TIMEOUT_MS after commit', httpTimeoutMs: 1_000, arm: (s) => s.proxy.failNextCreate('hang'), disarm: () => {} },
];

async function scenario(httpTimeoutMs = 5_000): Promise<Scenario> {
  const sandbox = resources.add(await startTestSandbox());
  const proxy = resources.add(await startFaultProxy(sandbox.url));
  const kit = resources.add(await startHandlerKit({ apiUrl: proxy.url, httpTimeoutMs }));
  return { sandbox, proxy, kit };
}

const ordersOf = (sandbox: LocalSandbox, mid: string) => sandbox.orders().filter((o) => o.merchantOrderId === mid);

describe.each(CAUSES)('after $name on the first create', (cause) => {
  it.each(INVALID)('rejects $kind at once with the API’s reason, and the sandbox holds no order', async ({ intent, reason }) => {
    const s = await scenario(cause.httpTimeoutMs);
    const { kit, sandbox } = s;
    const mid = `amb-${intent.item_id}`;
    cause.arm(s);
    await kit.enqueue({ merchant_order_id: mid, ...intent });

    const ambiguous = await kit.waitForState(mid, 'ambiguous');
    expect(ambiguous).toMatchObject({ attempts: 1, maybeLanded: true });
    await kit.parked(mid);
    cause.disarm(s);
    // The retry is due after the backoff; no time passes for the resolve deadline.
    await kit.promote(mid);

    const result = await kit.result(mid);
    expect(result).toMatchObject({ status: 'rejected', error: 'validation_error', order_id: null, source: 'worker' });
    expect(result.error_message).toContain(reason);
    expect(Date.parse(result.resolved_at)).toBeLessThan((ambiguous.maybeLandedAtMs ?? 0) + kit.policy.resolveTimeoutMs);
    expect(await kit.state(mid)).toMatchObject({ phase: 'done', attempts: 2, maybeLanded: true });
    expect(ordersOf(sandbox, mid)).toEqual([]);
    expect(sandbox.stats().calls.create).toBe(2);
    expect(await kit.reservations()).toEqual({});
  });
});

describe('after the worker was killed, or Redis restarted, between recording the attempt and its answer', () => {
  it.each(INVALID)('rejects $kind at once with the API’s reason, and the sandbox holds no order', async ({ intent, reason }) => {
    const { kit, sandbox } = await scenario();
    const mid = `killed-${intent.item_id}`;
    // The ledger holds the first attempt (phase placing) and nothing after it: the run that sent it died.
    const data: OrderIntent = { merchant_order_id: mid, ...intent };
    const parsed = parseIntent(data);
    if (parsed.kind !== 'ok') throw new Error(`test intent is not valid job data: ${parsed.kind}`);
    const t = kit.clock.now();
    const events: OrderEvent[] = [
      { type: 'job_started', atMs: t, check: { kind: 'unpriced' } },
      { type: 'funds_reserved', atMs: t, cost: null },
    ];
    const seeded = await driveLedger(kit.ledger, parsed.intent, events, kit.policy, intentJobId(mid));
    expect(seeded).toMatchObject({ phase: 'placing', attempts: 1 });

    await kit.enqueue(data);

    const result = await kit.result(mid);
    expect(result).toMatchObject({ status: 'rejected', error: 'validation_error', order_id: null });
    expect(result.error_message).toContain(reason);
    expect(await kit.state(mid)).toMatchObject({ phase: 'done', attempts: 2, maybeLanded: true });
    expect(ordersOf(sandbox, mid)).toEqual([]);
    expect(sandbox.stats().calls.create).toBe(1);
  });
});

describe('a rejection after an ambiguous attempt that a landed attempt could explain', () => {
  it('out of stock after a 503: waits for the webhook, then ends unresolved after the resolve deadline', async () => {
    const { kit, sandbox } = await scenario();
    sandbox.setFaults({ create: { unavailableBeforeCommit: 1 } });
    await kit.enqueue({ merchant_order_id: 'oos-1', item_id: 7300, quantity: 1 });
    await kit.waitForState('oos-1', 'ambiguous');
    await kit.parked('oos-1');
    sandbox.setFaults({});
    await kit.promote('oos-1');

    const awaiting = await kit.waitForState('oos-1', 'awaiting_webhook');
    expect(awaiting).toMatchObject({ attempts: 2, maybeLanded: true, orderId: null });
    const { dueAtMs } = await kit.parked('oos-1');
    // Parked until the resolve deadline (it is sooner than POLL_MAX_DELAY_MS here).
    expect(dueAtMs).toBe((awaiting.maybeLandedAtMs ?? 0) + kit.policy.resolveTimeoutMs);
    expect(await kit.allResults()).toEqual([]);

    kit.clock.advance(kit.policy.resolveTimeoutMs);
    await kit.promote('oos-1');
    const result = await kit.result('oos-1');
    expect(result).toMatchObject({ status: 'unresolved', error: 'unresolved', order_id: null });
    expect(result.error_message).toContain('"oos-1"');
    expect(ordersOf(sandbox, 'oos-1')).toEqual([]);
  });

  it('a duplicate merchant_order_id after a 502 that landed: waits for the webhook, then ends unresolved without one', async () => {
    const { kit, sandbox } = await scenario();
    sandbox.setFaults({ create: { badGatewayAfterCommit: 1 } });
    await kit.enqueue({ merchant_order_id: 'dup-1', item_id: 4090, quantity: 2 });
    await kit.waitForState('dup-1', 'ambiguous');
    await kit.parked('dup-1');
    expect(ordersOf(sandbox, 'dup-1')).toHaveLength(1);
    sandbox.setFaults({});
    await kit.promote('dup-1');

    expect(await kit.waitForState('dup-1', 'awaiting_webhook')).toMatchObject({ attempts: 2, orderId: null });
    await kit.parked('dup-1');
    kit.clock.advance(kit.policy.resolveTimeoutMs);
    await kit.promote('dup-1');

    expect(await kit.result('dup-1')).toMatchObject({ status: 'unresolved', order_id: null });
    // Charged once, although sent twice.
    expect(ordersOf(sandbox, 'dup-1')).toHaveLength(1);
    expect(sandbox.stats().calls.create).toBe(2);
  });

  it('a duplicate merchant_order_id after a 502 that landed: the webhook settles it, with the landed order', async () => {
    const prefix = uniquePrefix('oh');
    const receiver = resources.add(await startKitReceiver(prefix));
    // Fulfilment slower than the retry, so the retry meets the landed order before its webhook.
    const sandbox = resources.add(
      await startTestSandbox({
        fulfilment: { minMs: 1_500, maxMs: 1_500 },
        webhook: { url: receiver.webhookUrl, secret: WEBHOOK_SECRET, retryGapMs: 200 },
        faults: { create: { badGatewayAfterCommit: 1 } },
      }),
    );
    const kit = resources.add(await startHandlerKit({ apiUrl: sandbox.url, prefix }));
    await kit.enqueue({ merchant_order_id: 'dup-2', item_id: 4090, quantity: 2 });
    await kit.waitForState('dup-2', 'ambiguous');
    await kit.parked('dup-2');
    sandbox.setFaults({});
    await kit.promote('dup-2');
    await kit.waitForState('dup-2', 'awaiting_webhook');

    // No promote, no clock: the webhook finalizes the order and removes its parked job.
    const result = await kit.result('dup-2');
    const [order] = ordersOf(sandbox, 'dup-2');
    expect(result).toMatchObject({ status: 'completed', source: 'webhook', order_id: order?.id, price: 18 });
    await expect.poll(() => kit.jobState('dup-2')).toBe('unknown');
    expect(await kit.emissions('dup-2')).toBe(1);
  });
});

// --- A gateway in front of the sandbox that loses the answer of one create -------------------

type AfterCommitFault = 'bad_gateway' | 'reset' | 'hang';

interface FaultProxy {
  readonly url: string;
  /** The next POST /api/v1/orders is forwarded, and its answer replaced by `fault`. */
  failNextCreate(fault: AfterCommitFault): void;
  close(): Promise<void>;
}

const BAD_GATEWAY_HTML = '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>';

async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: false });
  let pending: AfterCommitFault | null = null;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const forward = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host }, agent },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => parts.push(chunk));
          answer.on('end', () => {
            const fault = req.method === 'POST' && req.url === '/api/v1/orders' ? pending : null;
            if (fault !== null) pending = null;
            switch (fault) {
              case 'bad_gateway':
                res.writeHead(502, { 'content-type': 'text/html' }).end(BAD_GATEWAY_HTML);
                return;
              case 'reset':
                req.socket.resetAndDestroy();
                return;
              case 'hang':
                // Never answered: the client's timeout gives up.
                return;
              default: {
                const headers: http.OutgoingHttpHeaders = {};
                for (const name of ['content-type', 'retry-after']) {
                  const value = answer.headers[name];
                  if (value !== undefined) headers[name] = value;
                }
                res.writeHead(answer.statusCode ?? 502, headers).end(Buffer.concat(parts));
              }
            }
          });
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');

  return {
    url: `http://127.0.0.1:${address.port}`,
    failNextCreate(fault) {
      pending = fault;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
