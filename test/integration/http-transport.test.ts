import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpTransportError, sendHttp, type HttpAgents } from '../../src/api/http-transport.js';

/**
 * The API client's transport (node:http, no library): an answer of any status comes back whole; a
 * request without one fails with what decides whether a create may have landed — was it connected,
 * was it fully sent — and never with the request's headers.
 */

const servers: net.Server[] = [];
let agents: HttpAgents;

afterEach(async () => {
  agents.http.destroy();
  agents.https.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

function freshAgents(): HttpAgents {
  agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  return agents;
}

async function listen(server: net.Server): Promise<URL> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return new URL(`http://127.0.0.1:${address.port}/api/v1/orders`);
}

async function failureOf(promise: Promise<unknown>): Promise<HttpTransportError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof HttpTransportError) return err;
    throw err;
  }
  throw new Error('expected the request to fail');
}

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.transport-secret';
const post = (url: URL, timeoutMs = 2_000) =>
  sendHttp(agents, { method: 'POST', url, headers: { authorization: `Bearer ${TOKEN}` }, json: { item_id: 1, merchant_order_id: 'm-1' }, timeoutMs });

describe('the HTTP transport', () => {
  it('returns any status whole, with its body and Retry-After, sending the JSON body it was given', async () => {
    let received = '';
    const url = await listen(
      http.createServer((req, res) => {
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => (received += chunk));
        req.on('end', () => {
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '3' });
          res.end('{"error":"rate_limited"}');
        });
      }),
    );
    freshAgents();
    const answer = await post(url);
    expect(answer).toEqual({ status: 429, retryAfter: '3', body: '{"error":"rate_limited"}' });
    expect(JSON.parse(received)).toEqual({ item_id: 1, merchant_order_id: 'm-1' });
  });

  it('says a refused connection was never connected', async () => {
    const server = net.createServer();
    const url = await listen(server);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    servers.splice(servers.indexOf(server), 1);
    freshAgents();
    const err = await failureOf(post(url));
    expect(err.failure).toMatchObject({ code: 'ECONNREFUSED', timeoutEvent: undefined, connected: false });
  });

  it('says a request the server read whole and then hung up on was connected and sent', async () => {
    const url = await listen(
      http.createServer((req) => {
        req.resume();
        req.on('end', () => req.socket.destroy());
      }),
    );
    freshAgents();
    const err = await failureOf(post(url));
    expect(err.failure).toMatchObject({ code: 'ECONNRESET', connected: true, uploaded: true });
  });

  it('times out a request that gets no answer at its deadline, as sent', async () => {
    const url = await listen(http.createServer((req) => req.resume()));
    freshAgents();
    const err = await failureOf(post(url, 300));
    expect(err.failure).toEqual({ code: 'ETIMEDOUT', timeoutEvent: 'request', connected: true, uploaded: true });
    expect(err.message).toContain('300ms');
  });

  it('fails a request Node refuses to send (a header it will not write) as never connected', async () => {
    freshAgents();
    const err = await failureOf(
      sendHttp(agents, { method: 'GET', url: new URL('http://127.0.0.1:9/api/v1/orders/x'), headers: { authorization: 'Bearer a\nb' }, timeoutMs: 1_000 }),
    );
    expect(err.failure).toMatchObject({ connected: false, uploaded: false });
  });

  it('carries none of the request headers in its failure', async () => {
    const url = await listen(http.createServer((req) => req.socket.destroy()));
    freshAgents();
    const err = await failureOf(post(url));
    const everything = JSON.stringify({ ...err, message: err.message, stack: err.stack });
    expect(everything).not.toContain('transport-secret');
    expect(everything).not.toContain('authorization');
  });
});
