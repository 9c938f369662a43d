import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { listenUrl } from '../http/listen-url.js';

/** A listening metrics endpoint. */
export interface MetricsServer {
  /** Base URL; metrics are at `${url}/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serve `registry` in the Prometheus text format at GET /metrics. Plain node:http: one route, no
 * framework needed.
 */
export async function startMetricsServer(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  return {
    url: listenUrl(host, boundPort),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
