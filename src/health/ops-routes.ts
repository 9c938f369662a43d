import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { Readiness } from './readiness.js';

/** What the ops endpoints of a process answer from. */
export interface OpsDeps {
  readiness: Readiness;
  /** The process's metrics registry. */
  registry: Registry;
}

/** One answer of an ops endpoint. */
export interface OpsAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** The paths every long-running process serves. */
export const OPS_PATHS = ['/healthz', '/readyz', '/metrics'] as const;
export type OpsPath = (typeof OPS_PATHS)[number];

const json = (status: number, body: Record<string, unknown>): OpsAnswer => ({ status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body) });

/**
 * Answer one ops endpoint, whatever server carries it:
 * - `/healthz`: the process is alive (200 `{ok:true}`), whatever its dependencies say;
 * - `/readyz`: it can do its job (200 `{ready:true}`), else 503 `{ready:false, reasons}`;
 * - `/metrics`: the registry in Prometheus text format.
 */
export async function answerOps(path: OpsPath, deps: OpsDeps): Promise<OpsAnswer> {
  switch (path) {
    case '/healthz':
      return json(200, { ok: true });
    case '/readyz': {
      const { ready, reasons } = deps.readiness.status();
      return ready ? json(200, { ready: true }) : json(503, { ready: false, reasons });
    }
    case '/metrics':
      return { status: 200, contentType: deps.registry.contentType, body: await deps.registry.metrics() };
  }
}

/**
 * The fastify handler of one ops endpoint (the webhook receiver's and the dashboard's servers):
 * `for (const path of OPS_PATHS) app.get(path, opsHandler(path, deps))`.
 */
export function opsHandler(path: OpsPath, deps: OpsDeps): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> {
  return async (_request, reply) => {
    const answer = await answerOps(path, deps);
    return reply.code(answer.status).header('cache-control', 'no-store').type(answer.contentType).send(answer.body);
  };
}
