import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A parsed HTTP answer: status, headers and the body (JSON when it parses, text otherwise). */
export interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

/** Call the sandbox at `baseUrl` with an optional bearer token and JSON body. */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body };
}

/** Exchange `apiKey` for a token; fails the test when the exchange does not answer 200. */
export async function token(baseUrl: string, apiKey: string): Promise<string> {
  const answer = await call(baseUrl, 'POST', '/api/v1/auth/token/client', { body: { api_key: apiKey } });
  const accessToken = (answer.body as { access_token?: unknown }).access_token;
  if (answer.status !== 200 || typeof accessToken !== 'string') throw new Error(`token exchange answered ${answer.status}`);
  return accessToken;
}

/** Poll `probe` until it returns a value (not undefined), or fail after `timeoutMs`. */
export async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 5_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** One webhook delivery as received: raw bytes and headers, exactly as sent. */
export interface Delivery {
  raw: Buffer;
  headers: http.IncomingHttpHeaders;
  path: string;
}

/** A webhook receiver on a free port; `answer` decides the response to the n-th delivery (0-based). */
export interface WebhookReceiver {
  url: string;
  deliveries: Delivery[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(
  answer: (n: number, res: http.ServerResponse) => void = (_n, res) => res.writeHead(200).end(),
): Promise<WebhookReceiver> {
  const deliveries: Delivery[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const n = deliveries.length;
      deliveries.push({ raw: Buffer.concat(chunks), headers: req.headers, path: req.url ?? '' });
      answer(n, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/voodoo`,
    deliveries,
    close: async () => {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}
