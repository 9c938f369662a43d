import http from 'node:http';
import https from 'node:https';
import type { TransportFailure } from './error-mapping.js';

/** A complete HTTP answer, whatever its status. */
export interface HttpAnswer {
  status: number;
  /** The raw `Retry-After` header, if any. */
  retryAfter: string | undefined;
  /** The body as text (UTF-8). */
  body: string;
}

/** One request: the method, the absolute URL, headers, an optional JSON body, and its deadline. */
export interface HttpRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  /** Sent as `application/json`. */
  json?: unknown;
  /** The whole request (connect, send, answer) must end within this, in ms. */
  timeoutMs: number;
}

/**
 * A request that got no complete answer, with what is known of how far it went: the error mapping
 * (error-mapping.ts) decides from `failure` whether a create may have reached the API.
 * Its message and `code` come from the underlying error; it never carries the request's headers.
 */
export class HttpTransportError extends Error {
  readonly code: string | undefined;
  constructor(
    message: string,
    readonly failure: TransportFailure,
  ) {
    super(message);
    this.name = failure.timeoutEvent === undefined ? 'RequestError' : 'TimeoutError';
    this.code = failure.code;
  }
}

/** The keep-alive agents one client owns (close() destroys their sockets). */
export interface HttpAgents {
  http: http.Agent;
  https: https.Agent;
}

/**
 * Send one request over `agents` and resolve with the answer, or reject with an
 * {@link HttpTransportError}. Never retries and never follows a redirect: the job layer owns retries,
 * and a POST must not be repeated here.
 *
 * Why not got: the workers' CPU profile under load showed got's per-request machinery (option
 * normalisation, hooks, its stream wrapper) at ~11 % of a worker, more than the ledger and BullMQ
 * together, for one JSON request with a deadline. What got gave that matters here — whether a
 * failed request was connected and fully sent, which decides if a create may have landed — is two
 * socket events, tracked below.
 */
export function sendHttp(agents: HttpAgents, request: HttpRequest): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    const body = request.json === undefined ? undefined : JSON.stringify(request.json);
    const secure = request.url.protocol === 'https:';
    const headers: Record<string, string | number> = { ...request.headers };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    let connected = false;
    let uploaded = false;
    let settled = false;
    let timedOut = false;
    const fail = (err: Error & { code?: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const failure: TransportFailure = { code: timedOut ? 'ETIMEDOUT' : err.code, timeoutEvent: timedOut ? 'request' : undefined, connected, uploaded };
      reject(new HttpTransportError(timedOut ? `Timeout awaiting 'request' for ${request.timeoutMs}ms` : err.message, failure));
    };
    const options: http.RequestOptions = { method: request.method, headers, agent: secure ? agents.https : agents.http };
    let req: http.ClientRequest;
    try {
      req = (secure ? https : http).request(request.url, options, onResponse);
    } catch (err) {
      // Refused before anything was sent (e.g. a header value Node will not write): never connected.
      const e = err as Error & { code?: string };
      reject(new HttpTransportError(e.message, { code: e.code, timeoutEvent: undefined, connected: false, uploaded: false }));
      return;
    }
    function onResponse(res: http.IncomingMessage): void {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', fail);
      res.on('aborted', () => fail(Object.assign(new Error('the answer was cut off'), { code: 'ECONNRESET' })));
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const retryAfter: string | undefined = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, retryAfter, body: Buffer.concat(chunks).toString('utf8') });
      });
    }
    const timer = setTimeout(() => {
      timedOut = true;
      req.destroy(new Error('timeout'));
    }, request.timeoutMs);
    req.on('socket', (socket) => {
      // A reused keep-alive socket is connected already; a new one says so when it is.
      if (!socket.connecting) connected = true;
      else socket.once(secure ? 'secureConnect' : 'connect', () => (connected = true));
    });
    // Every byte of the request was handed to the operating system: the server may act on it.
    req.on('finish', () => (uploaded = true));
    req.on('error', fail);
    req.end(body);
  });
}
