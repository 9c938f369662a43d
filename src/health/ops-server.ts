import { createServer, type Server } from 'node:http';
import { listenUrl } from '../http/listen-url.js';
import { answerOps, OPS_PATHS, type OpsDeps, type OpsPath } from './ops-routes.js';

/** A listening ops server. */
export interface OpsServer {
  /** The address actually bound, `host:port` (for the log line). */
  readonly address: string;
  /** Base URL to reach it, e.g. `http://127.0.0.1:9464` (an unspecified host is reached on loopback). */
  readonly url: string;
  close(): Promise<void>;
}

const isOpsPath = (path: string): path is OpsPath => (OPS_PATHS as readonly string[]).includes(path);

/**
 * A worker's ops endpoints (GET /healthz, /readyz, /metrics) on `host`:`port` (0 = any free port).
 * Plain node:http: three routes, and a worker loads no web framework.
 */
export async function startOpsServer(deps: OpsDeps, host: string, port: number): Promise<OpsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    if (request.method !== 'GET' || !isOpsPath(path)) {
      response.writeHead(404).end();
      return;
    }
    answerOps(path, deps).then(
      (answer) => response.writeHead(answer.status, { 'content-type': answer.contentType, 'cache-control': 'no-store' }).end(answer.body),
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address();
  const boundPort = typeof bound === 'object' && bound !== null ? bound.port : port;
  const boundHost = typeof bound === 'object' && bound !== null ? bound.address : host;
  return {
    address: boundHost.includes(':') ? `[${boundHost}]:${boundPort}` : `${boundHost}:${boundPort}`,
    url: listenUrl(host, boundPort),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
