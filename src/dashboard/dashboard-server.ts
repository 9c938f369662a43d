import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import Fastify from 'fastify';
import type { Logger } from '../logging/logger.js';
import { hideCodes } from './hide-codes.js';
import { listenUrl } from '../http/listen-url.js';
import { OPS_PATHS, opsHandler, type OpsDeps } from '../health/ops-routes.js';

/** What {@link startDashboard} needs. */
export interface DashboardDeps {
  /** Interface to bind (DASHBOARD_HOST). The board has no login: keep it on loopback or behind a proxy that has one. */
  host: string;
  /** Port to bind (DASHBOARD_PORT); 0 picks a free one. */
  port: number;
  /** The queues to show, each with a line of description. Not owned: the caller closes them. */
  queues: readonly {
    queue: Queue;
    description: string;
    /** Shown before the queue's name, telling apart queues of one name (partitions); default none. */
    label?: string;
  }[];
  logger: Logger;
  /** Serve /healthz, /readyz and /metrics beside the board (the dashboard process passes them). */
  ops?: OpsDeps;
}

/** A listening dashboard. */
export interface Dashboard {
  /** Base URL, e.g. `http://127.0.0.1:3000/`. */
  url: string;
  /** Stop accepting connections and wait for requests in flight. */
  close(): Promise<void>;
}


/**
 * Serve bull-board over the given queues, read-only: the ledger, not the queue, decides what an
 * order does next, so retrying, removing or editing jobs by hand could only do harm. Delivered codes
 * in job data and return values are shown as a count.
 */
export async function startDashboard(deps: DashboardDeps): Promise<Dashboard> {
  const serverAdapter = new FastifyAdapter();
  const adapters = deps.queues.map(({ queue, description, label }) => {
    const adapter = new BullMQAdapter(queue, { readOnlyMode: true, allowRetries: false, description, ...(label ? { prefix: label } : {}) });
    adapter.setFormatter('data', (data: unknown) => hideCodes(data));
    adapter.setFormatter('returnValue', (data: unknown) => hideCodes(data));
    return adapter;
  });
  createBullBoard({ queues: adapters, serverAdapter, options: { uiConfig: { boardTitle: 'voodoo-fulfillment' } } });
  serverAdapter.setBasePath('/');
  // Requests are not logged one by one: the board polls its API every few seconds.
  const app = Fastify({ logger: false });
  const { ops } = deps;
  if (ops) for (const path of OPS_PATHS) app.get(path, opsHandler(path, ops));
  try {
    await app.register(serverAdapter.registerPlugin(), { prefix: '/' });
    await app.listen({ host: deps.host, port: deps.port });
  } catch (err) {
    await app.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : deps.port;
  const url = `${listenUrl(deps.host, port)}/`;
  return {
    url,
    async close() {
      await app.close();
    },
  };
}
