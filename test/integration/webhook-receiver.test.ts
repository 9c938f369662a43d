import { connect, type Socket } from 'node:net';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OrderLedger } from '../../src/ledger/order-ledger.js';
import { initialState } from '../../src/lifecycle/order-machine.js';
import { LOG_EVENT, readEventLine } from '../../src/logging/log-events.js';
import { createLogger, type Logger } from '../../src/logging/logger.js';
import { intentJobId } from '../../src/queue/job-ids.js';
import { createJobWaker, type JobWaker } from '../../src/queue/job-waker.js';
import { INTENTS_QUEUE } from '../../src/queue/queue-names.js';
import { projectKeys } from '../../src/redis/keys.js';
import { signWebhook } from '../../src/webhook/signature.js';
import { startWebhookReceiver, WEBHOOK_PATH, type WebhookReceiver, type WebhookReceiverDeps } from '../../src/webhook/webhook-receiver.js';
import { connectRedis, deleteKeys, uniquePrefix } from '../support/redis.js';
import { MAX_MERCHANT_ORDER_ID_LENGTH, MAX_ORDER_ID_LENGTH } from '../../src/api/api-limits.js';

const SECRET = 'whsec-test-0123456789abcdef';
const BODY_LIMIT_BYTES = 4096;
const CODES = ['KEY-AAAA-1111-ZZZZ', 'KEY-BBBB-2222-YYYY'];

/** A webhook body as the API sends it: keys sorted, compact (JSON.stringify keeps insertion order). */
function webhookEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const event: Record<string, unknown> = {
    codes: CODES,
    completed_at: '2026-06-10T12:00:05Z',
    created_at: '2026-06-10T12:00:00Z',
    delivered_quantity: 2,
    error: '',
    error_message: '',
    fields: {},
    item_id: 101,
    item_name: 'Gift card 10',
    merchant_order_id: 'mo-1',
    order_id: '5b0c7a8e-1f0e-4f43-9d55-2a0a3c1e9b01',
    quantity: 2,
    refund_amount: 0,
    status: 'completed',
    total_price: 18,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(event).sort(([a], [b]) => (a < b ? -1 : 1)));
}

interface Delivery {
  status: number;
  body: unknown;
}

async function deliver(
  base: string,
  raw: string | Buffer,
  options: { signature?: string | null; contentType?: string | null } = {},
): Promise<Delivery> {
  const headers: Record<string, string> = {};
  const signature = options.signature === undefined ? signWebhook(SECRET, raw) : options.signature;
  if (signature !== null) headers['x-webhook-signature'] = signature;
  const contentType = options.contentType === undefined ? 'application/json' : options.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  const res = await fetch(`${base}${WEBHOOK_PATH}`, { method: 'POST', headers, body: raw });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
}

/** A raw TCP connection to a receiver, to send a request as slowly or as partially as a test needs. */
interface RawConnection {
  socket: Socket;
  /** Everything the receiver wrote so far. */
  received: () => string;
  /** Resolves with the ms from connecting until the receiver closed the connection. */
  closed: Promise<number>;
}

async function rawConnection(base: string): Promise<RawConnection> {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  let text = '';
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
  });
  // A reset is as good as a close here: the receiver let go of the connection.
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const started = Date.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
  return { socket, received: () => text, closed };
}

/** Write `text` one byte every `everyMs` until it is all sent or the connection is gone. */
async function trickle(socket: Socket, text: string, everyMs: number): Promise<void> {
  for (const char of text) {
    if (socket.destroyed || !socket.writable) return;
    socket.write(char);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

function intent(merchantOrderId: string) {
  return { merchantOrderId, itemId: 101, quantity: 2 };
}

describe('webhook receiver', () => {
  let prefix: string;
  let redis: Redis;
  let ledger: OrderLedger;
  let queue: Queue;
  let waker: JobWaker;
  let logLines: string[];
  let logger: Logger;
  let woken: string[];
  const receivers: WebhookReceiver[] = [];

  /** Start a receiver over this test's Redis; every one is closed after the test. */
  async function start(overrides: Partial<WebhookReceiverDeps> = {}): Promise<WebhookReceiver> {
    const receiver = await startWebhookReceiver({
      host: '127.0.0.1',
      port: 0,
      secret: SECRET,
      bodyLimitBytes: BODY_LIMIT_BYTES,
      maxConnections: 16,
      ledger,
      wake: async (jobId) => {
        woken.push(jobId);
        await waker(jobId);
      },
      logger,
      heartbeat: { redis, prefix },
      ...overrides,
    });
    receivers.push(receiver);
    return receiver;
  }

  /** A claimed order whose intent job sits delayed until its next poll, as a worker leaves it. */
  async function knownOrder(mid: string): Promise<string> {
    const jobId = intentJobId(mid);
    await ledger.claim(mid, jobId, initialState(intent(mid), Date.now()));
    await queue.add('intent', { merchantOrderId: mid }, { jobId, delay: 60_000 });
    return jobId;
  }

  beforeEach(() => {
    prefix = uniquePrefix('wh');
    redis = connectRedis();
    ledger = new OrderLedger({ redis, prefix, retentionSeconds: 3600, tombstoneTtlSeconds: 7200, unmatchedEventTtlSeconds: 1800 });
    queue = new Queue(INTENTS_QUEUE, { connection: redis, prefix });
    waker = createJobWaker(queue, { retryDelaysMs: [50, 200, 1000] });
    logLines = [];
    woken = [];
    // Deliberately without the `secrets` scrubber: the receiver itself must never log them.
    logger = createLogger({ level: 'trace', destination: { write: (line: string) => void logLines.push(line) } });
  });

  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
    await waker.close();
    await queue.close();
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  it('answers 200 on /healthz', async () => {
    const receiver = await start();
    const res = await fetch(`${receiver.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  describe('when the signature is missing or forged', () => {
    it('answers 401 and leaves the ledger record unchanged', async () => {
      const receiver = await start();
      const jobId = await knownOrder('mo-1');
      const before = await ledger.load('mo-1');
      const raw = JSON.stringify(webhookEvent());

      const missing = await deliver(receiver.url, raw, { signature: null });
      const forged = await deliver(receiver.url, raw, { signature: signWebhook('not-the-secret', raw) });
      const garbage = await deliver(receiver.url, raw, { signature: 'sha256=zz' });

      for (const res of [missing, forged, garbage]) {
        expect(res).toEqual({ status: 401, body: { error: 'invalid signature' } });
      }
      expect(await ledger.load('mo-1')).toEqual(before);
      expect(before?.webhookOrder).toBeNull();
      expect(await queue.getJobState(jobId)).toBe('delayed');
      expect(woken).toEqual([]);
    });
  });

  describe('when the body is larger than the limit', () => {
    it('answers 413 without storing anything', async () => {
      const receiver = await start();
      const raw = JSON.stringify(webhookEvent({ merchant_order_id: 'mo-big', item_name: 'x'.repeat(BODY_LIMIT_BYTES) }));

      const res = await deliver(receiver.url, raw);

      expect(res.status).toBe(413);
      expect(await redis.exists(projectKeys(prefix).order('mo-big'))).toBe(0);
    });
  });

  describe('when a correctly signed body is not usable', () => {
    it('answers 400 malformed JSON for a body that does not parse', async () => {
      const receiver = await start();
      const res = await deliver(receiver.url, '{"order_id": "abc", ');
      expect(res).toEqual({ status: 400, body: { error: 'malformed JSON' } });
    });

    it('answers 400 naming the problem for an event without order_id or status', async () => {
      const receiver = await start();
      const noOrderId = await deliver(receiver.url, JSON.stringify(webhookEvent({ order_id: undefined })));
      const badStatus = await deliver(receiver.url, JSON.stringify(webhookEvent({ status: 'teleported' })));
      const notObject = await deliver(receiver.url, '[1,2,3]');

      for (const res of [noOrderId, badStatus, notObject]) {
        expect(res.status).toBe(400);
        expect(res.body).toEqual({ error: expect.stringContaining('unusable webhook event') as unknown });
      }
      expect(await redis.zcard(projectKeys(prefix).unmatchedEvents)).toBe(0);
    });
  });

  describe('when a valid event arrives for a known order', () => {
    it('answers 200 after storing the event and promotes the delayed owning job to waiting', async () => {
      const receiver = await start();
      const jobId = await knownOrder('mo-1');
      expect(await queue.getJobState(jobId)).toBe('delayed');

      const res = await deliver(receiver.url, JSON.stringify(webhookEvent()));

      expect(res).toEqual({ status: 200, body: { ok: true } });
      const record = await ledger.load('mo-1');
      expect(record?.webhookOrder).toMatchObject({ id: webhookEvent().order_id, status: 'completed', codes: CODES, merchantOrderId: 'mo-1' });
      // The receiver stores, it never decides: the state is untouched.
      expect(record?.state.phase).toBe('received');
      // Storing a terminal event moves the version on (the state is the same), so a writer that loaded
      // the record before the event cannot save over it unseen.
      expect(record?.version).toBe(2);
      expect(await queue.getJobState(jobId)).toBe('waiting');
      expect(woken).toEqual([jobId]);
    });

    it('answers 200 for the same event twice, and the second is a duplicate that wakes nothing', async () => {
      const receiver = await start();
      const jobId = await knownOrder('mo-1');
      const raw = JSON.stringify(webhookEvent());

      const first = await deliver(receiver.url, raw);
      const afterFirst = await ledger.load('mo-1');
      const second = await deliver(receiver.url, raw);

      expect(first.status).toBe(200);
      expect(second.status).toBe(200);
      expect(await ledger.load('mo-1')).toEqual(afterFirst);
      expect(woken).toEqual([jobId]);
      expect(logLines.filter((l) => l.includes('"outcome":"duplicate"'))).toHaveLength(1);
    });

    it('still answers 200 when waking the job fails', async () => {
      const receiver = await start({
        wake: () => Promise.reject(new Error('queue unreachable')),
      });
      await knownOrder('mo-1');

      const res = await deliver(receiver.url, JSON.stringify(webhookEvent()));

      expect(res).toEqual({ status: 200, body: { ok: true } });
      expect((await ledger.load('mo-1'))?.webhookOrder?.status).toBe('completed');
    });
  });

  describe('when the event is for a merchant_order_id nobody claimed yet', () => {
    it('answers 200, keeps the event as unmatched, and a later claim sees it and matches it', async () => {
      const receiver = await start();
      const raw = JSON.stringify(webhookEvent({ merchant_order_id: 'mo-early', status: 'failed', codes: [] }));

      const res = await deliver(receiver.url, raw);

      expect(res).toEqual({ status: 200, body: { ok: true } });
      expect(await redis.zscore(projectKeys(prefix).unmatchedEvents, 'mo-early')).not.toBeNull();
      expect(await ledger.load('mo-early')).toBeNull();
      expect(woken).toEqual([]);
      const claim = await ledger.claim('mo-early', intentJobId('mo-early'), initialState(intent('mo-early'), Date.now()));
      expect(claim.kind).toBe('claimed');
      if (claim.kind !== 'claimed') return;
      expect(claim.record.webhookOrder).toMatchObject({ id: webhookEvent().order_id, status: 'failed' });
      // Matched now: the index lists only events still waiting for an intent.
      expect(await redis.zscore(projectKeys(prefix).unmatchedEvents, 'mo-early')).toBeNull();
    });
  });

  describe('when the event has no merchant_order_id', () => {
    it('answers 200 and stores the raw event by order_id', async () => {
      const receiver = await start();
      const raw = JSON.stringify(webhookEvent({ merchant_order_id: null, order_id: 'order-without-mid' }));

      const res = await deliver(receiver.url, raw);

      expect(res).toEqual({ status: 200, body: { ok: true } });
      expect(await redis.get(projectKeys(prefix).eventWithoutMerchantOrderId('order-without-mid'))).toBe(raw);
      expect(await redis.zcard(projectKeys(prefix).unmatchedEvents)).toBe(0);
    });
  });

  describe('when verifying the signature', () => {
    it('accepts the raw bytes exactly as signed and rejects the same JSON re-serialised', async () => {
      const receiver = await start();
      await knownOrder('mo-1');
      const event = webhookEvent();
      // Unusual but valid: spaces, newlines, reversed key order, escaped characters.
      const unusual = `{\n  "status" : "completed",\t"order_id":"${String(event.order_id)}", "merchant_order_id": "mo-\\u0031",` +
        ` "quantity": 2.0, "codes": ${JSON.stringify(CODES)} }\n`;
      const signature = signWebhook(SECRET, unusual);
      const reserialised = JSON.stringify(JSON.parse(unusual));

      const rejected = await deliver(receiver.url, reserialised, { signature });
      expect(rejected.status).toBe(401);
      expect((await ledger.load('mo-1'))?.webhookOrder).toBeNull();

      const accepted = await deliver(receiver.url, unusual, { signature });
      expect(accepted).toEqual({ status: 200, body: { ok: true } });
      expect((await ledger.load('mo-1'))?.webhookOrder).toMatchObject({ merchantOrderId: 'mo-1', status: 'completed' });
    });

    it('reads the raw body whatever the content type says, or when it says nothing', async () => {
      const receiver = await start();
      const plain = JSON.stringify(webhookEvent({ merchant_order_id: 'mo-plain' }));
      const untyped = JSON.stringify(webhookEvent({ merchant_order_id: 'mo-untyped' }));

      expect((await deliver(receiver.url, plain, { contentType: 'text/plain' })).status).toBe(200);
      expect((await deliver(receiver.url, untyped, { contentType: null })).status).toBe(200);
      expect(await redis.zrange(projectKeys(prefix).unmatchedEvents, 0, -1)).toEqual(expect.arrayContaining(['mo-plain', 'mo-untyped']));
    });
  });

  describe('when Redis cannot store the event', () => {
    it('answers 503 so the API redelivers later', async () => {
      const dead = connectRedis();
      await dead.quit();
      const receiver = await start({ ledger: new OrderLedger({ redis: dead, prefix, retentionSeconds: 3600, tombstoneTtlSeconds: 7200, unmatchedEventTtlSeconds: 1800 }), heartbeat: undefined });

      const withMid = await deliver(receiver.url, JSON.stringify(webhookEvent()));
      const withoutMid = await deliver(receiver.url, JSON.stringify(webhookEvent({ merchant_order_id: null })));

      expect(withMid).toEqual({ status: 503, body: { error: 'temporarily unavailable' } });
      expect(withoutMid.status).toBe(503);
    });
  });

  describe('when a client sends its request too slowly', () => {
    const timeouts = { requestMs: 1_500, headersMs: 1_000 };

    it('answers 408 and closes the connection once the body has taken longer than the request timeout, storing nothing', async () => {
      const receiver = await start({ timeouts });
      const raw = JSON.stringify(webhookEvent({ merchant_order_id: 'mo-slow' }));
      const conn = await rawConnection(receiver.url);
      conn.socket.write(
        `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(raw)}\r\nX-Webhook-Signature: ${signWebhook(SECRET, raw)}\r\n\r\n`,
      );
      // ~20 s for the whole body: only the timeout can end this request in time.
      void trickle(conn.socket, raw, 50);

      const closedAfterMs = await conn.closed;

      expect(conn.received()).toMatch(/^HTTP\/1\.1 408 /);
      // Node alone sweeps for expired requests every 30 s: a cut long after the limit is that bug.
      expect(closedAfterMs).toBeLessThan(2 * timeouts.requestMs);
      expect(await ledger.load('mo-slow')).toBeNull();
      expect(await redis.zcard(projectKeys(prefix).unmatchedEvents)).toBe(0);
    });

    it('closes a connection whose headers take longer than the headers timeout', async () => {
      const receiver = await start({ timeouts });
      const conn = await rawConnection(receiver.url);
      void trickle(conn.socket, `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nX-Padding: ${'p'.repeat(400)}\r\n\r\n`, 50);

      const closedAfterMs = await conn.closed;

      expect(conn.received()).toMatch(/^HTTP\/1\.1 408 /);
      expect(closedAfterMs).toBeLessThan(2 * timeouts.headersMs);
    });

    it('accepts a body that arrives slowly but within the request timeout', async () => {
      const receiver = await start({ timeouts: { requestMs: 5_000, headersMs: 2_000 } });
      const raw = JSON.stringify(webhookEvent({ merchant_order_id: 'mo-patient' }));
      const conn = await rawConnection(receiver.url);
      conn.socket.write(
        `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(raw)}\r\nX-Webhook-Signature: ${signWebhook(SECRET, raw)}\r\n\r\n`,
      );
      const half = Math.floor(raw.length / 2);
      conn.socket.write(raw.slice(0, half));
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      conn.socket.write(raw.slice(half));

      await conn.closed;

      expect(conn.received()).toMatch(/^HTTP\/1\.1 200 /);
      expect(await redis.zscore(projectKeys(prefix).unmatchedEvents, 'mo-patient')).not.toBeNull();
    });
  });

  describe('when more connections arrive than the cap allows', () => {
    it('closes the excess one without an answer, logs it, and serves again once connections are freed', async () => {
      const receiver = await start({ maxConnections: 2 });
      // Two keep-alive connections that have been answered once, so the receiver holds both.
      const held = await Promise.all([rawConnection(receiver.url), rawConnection(receiver.url)]);
      for (const conn of held) conn.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await vi.waitFor(() => {
        for (const conn of held) expect(conn.received()).toMatch(/^HTTP\/1\.1 200 /);
      });

      const excess = await rawConnection(receiver.url);
      excess.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await excess.closed;

      expect(excess.received()).toBe('');
      const refused = logLines.filter((l) => l.includes('WEBHOOK_MAX_CONNECTIONS'));
      expect(refused).toHaveLength(1);
      expect(JSON.parse(refused[0] ?? '{}')).toMatchObject({ level: 40, maxConnections: 2, remoteAddress: expect.stringContaining('127.0.0.1') as unknown });

      for (const conn of held) conn.socket.destroy();
      await Promise.all(held.map((conn) => conn.closed));
      await vi.waitFor(async () => expect((await deliver(receiver.url, JSON.stringify(webhookEvent({ merchant_order_id: 'mo-after' })))).status).toBe(200));
    });
  });

  describe('when signature failures repeat', () => {
    it('logs the first with the remote address and none of the body, then one line per window with the count left out', async () => {
      let clock = 1_000_000;
      const receiver = await start({ now: () => clock });
      const raw = JSON.stringify(webhookEvent({ merchant_order_id: 'mo-forged-body' }));
      const forged = signWebhook('not-the-secret', raw);

      for (let i = 0; i < 3; i += 1) expect((await deliver(receiver.url, raw, { signature: forged })).status).toBe(401);
      clock += 60_000;
      expect((await deliver(receiver.url, raw, { signature: forged })).status).toBe(401);

      const lines = logLines.filter((l) => l.includes('invalid signature')).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatchObject({ level: 40, remoteAddress: expect.stringContaining('127.0.0.1') as unknown });
      expect(lines[0]).not.toHaveProperty('repeated');
      expect(lines[1]).toMatchObject({ repeated: 2 });
      const log = logLines.join('\n');
      for (const fromBody of ['mo-forged-body', ...CODES, forged]) expect(log).not.toContain(fromBody);
    });
  });

  describe('when a signed event carries a merchant_order_id longer than the API allows', () => {
    it('answers 400 and stores it nowhere', async () => {
      const receiver = await start();
      const tooLong = 'm'.repeat(MAX_MERCHANT_ORDER_ID_LENGTH + 1);
      const longest = 'n'.repeat(MAX_MERCHANT_ORDER_ID_LENGTH);

      const refused = await deliver(receiver.url, JSON.stringify(webhookEvent({ merchant_order_id: tooLong })));
      const accepted = await deliver(receiver.url, JSON.stringify(webhookEvent({ merchant_order_id: longest })));

      expect(refused).toEqual({ status: 400, body: { error: expect.stringContaining('merchant_order_id longer than 100 characters') as unknown } });
      expect(accepted.status).toBe(200);
      expect(await redis.zrange(projectKeys(prefix).unmatchedEvents, 0, -1)).toEqual([longest]);
      expect(await ledger.load(tooLong)).toBeNull();
      const keys = await redis.keys(`${prefix}*`);
      expect(keys.filter((key) => key.includes(tooLong))).toEqual([]);
      expect(logLines.join('\n')).not.toContain(tooLong);
    });
  });

  describe('when a signed event carries an order_id longer than any the API gives', () => {
    it('answers 400 and stores it nowhere', async () => {
      const receiver = await start();
      const tooLong = 'o'.repeat(MAX_ORDER_ID_LENGTH + 1);
      const refused = await deliver(receiver.url, JSON.stringify(webhookEvent({ order_id: tooLong, merchant_order_id: 'mo-long-order-id' })));
      expect(refused).toEqual({ status: 400, body: { error: expect.stringContaining('order_id longer than 100 characters') as unknown } });
      expect(await ledger.load('mo-long-order-id')).toBeNull();
      const keys = await redis.keys(`${prefix}*`);
      expect(keys.filter((key) => key.includes(tooLong) || key.includes('mo-long-order-id'))).toEqual([]);
      expect(logLines.join('\n')).not.toContain(tooLong);
    });
  });

  describe('heartbeat', () => {
    it('keeps the alive key set while running and deletes it on close', async () => {
      const receiver = await start({ heartbeat: { redis, prefix, ttlMs: 900 } });
      const key = projectKeys(prefix).webhookAlive;
      expect(await redis.exists(key)).toBe(1);
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(900);

      // Watch the key's remaining life: it only ever goes up when a beat rewrites the key. Three
      // rewrites (a beat every ttl/3) span a whole lifetime, and the key must never be missing.
      const seen: number[] = [ttl];
      let rewrites = 0;
      await vi.waitFor(
        async () => {
          const left = await redis.pttl(key);
          if (left > (seen.at(-1) ?? 0)) rewrites += 1;
          seen.push(left);
          expect(rewrites).toBeGreaterThanOrEqual(3);
        },
        { timeout: 10_000, interval: 20 },
      );
      expect(seen.filter((left) => left <= 0)).toEqual([]);
      expect(await redis.exists(key)).toBe(1);

      await receiver.close();
      expect(await redis.exists(key)).toBe(0);
    });
  });

  describe('logging', () => {
    it('logs accepted events with their ids and status but never the secret, the signature or the codes', async () => {
      const receiver = await start({ wake: () => Promise.reject(new Error('queue unreachable')) });
      await knownOrder('mo-1');
      const raw = JSON.stringify(webhookEvent());
      const signature = signWebhook(SECRET, raw);
      const forgedSignature = signWebhook('not-the-secret', raw);
      const malformed = `{"codes":${JSON.stringify(CODES)},`;

      await deliver(receiver.url, raw, { signature });
      await deliver(receiver.url, raw, { signature });
      await deliver(receiver.url, raw, { signature: forgedSignature });
      await deliver(receiver.url, malformed);
      await deliver(receiver.url, JSON.stringify(webhookEvent({ status: 'teleported' })));
      await deliver(receiver.url, JSON.stringify(webhookEvent({ merchant_order_id: null, order_id: 'no-mid' })));
      await deliver(receiver.url, 'x'.repeat(BODY_LIMIT_BYTES + 1));

      const log = logLines.join('\n');
      const accepted = logLines.filter((l) => readEventLine(l)?.event === LOG_EVENT.webhookAccepted);
      expect(accepted.length).toBe(2);
      expect(accepted[0]).toContain('"merchant_order_id":"mo-1"');
      expect(accepted[0]).toContain(`"order_id":"${String(webhookEvent().order_id)}"`);
      expect(accepted[0]).toContain('"status":"completed"');
      expect(log).toContain('invalid signature');
      for (const secretValue of [SECRET, signature, forgedSignature, signature.slice(7), ...CODES]) {
        expect(log).not.toContain(secretValue);
      }
    });
  });
});

describe('job waker', () => {
  let prefix: string;
  let redis: Redis;
  let workerRedis: Redis;
  let queue: Queue;
  let worker: Worker;
  let waker: JobWaker;

  beforeEach(() => {
    prefix = uniquePrefix('wk');
    redis = connectRedis();
    workerRedis = connectRedis();
    queue = new Queue(INTENTS_QUEUE, { connection: redis, prefix });
    // Manual fetching: the test decides when the job is active and when it goes back to delayed.
    worker = new Worker(INTENTS_QUEUE, null, { connection: workerRedis, prefix, autorun: false });
    waker = createJobWaker(queue, { retryDelaysMs: [50, 200, 1000] });
  });

  afterEach(async () => {
    await waker.close();
    await worker.close();
    await queue.close();
    await deleteKeys(redis, prefix);
    await workerRedis.quit();
    await redis.quit();
  });

  describe('when the job is active while the event arrives', () => {
    it('promotes it once its worker has moved it back to delayed', async () => {
      await queue.add('intent', { merchantOrderId: 'mo-1' }, { jobId: 'intent-mo-1' });
      const job = await worker.getNextJob('token-1');
      expect(job?.id).toBe('intent-mo-1');
      expect(await queue.getJobState('intent-mo-1')).toBe('active');

      await waker('intent-mo-1');
      // The worker, unaware of the event, parks the job until its next poll.
      await job?.moveToDelayed(Date.now() + 60_000, 'token-1');
      expect(['delayed', 'waiting']).toContain(await queue.getJobState('intent-mo-1'));

      await vi.waitFor(async () => expect(await queue.getJobState('intent-mo-1')).toBe('waiting'), { timeout: 5_000, interval: 25 });
    });
  });

  describe('when the job does not need waking', () => {
    it('leaves waiting and unknown jobs alone', async () => {
      await queue.add('intent', {}, { jobId: 'intent-waiting' });

      await waker('intent-waiting');
      await waker('intent-unknown');

      expect(await queue.getJobState('intent-waiting')).toBe('waiting');
      // Waking an id with no job creates none.
      expect(await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed')).toEqual({
        waiting: 1,
        prioritized: 0,
        delayed: 0,
        active: 0,
        completed: 0,
        failed: 0,
      });
    });
  });
});
