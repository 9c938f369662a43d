import type { FastifyReply } from 'fastify';

/** Error codes the sandbox answers with in the `{"detail", "code"}` envelope. */
export type ApiErrorCode =
  | 'validation_error'
  | 'insufficient_balance'
  | 'not_authenticated'
  | 'not_found'
  | 'rate_limited'
  | 'server_error'
  | 'service_unavailable'
  | 'unsupported_media_type'
  | 'payload_too_large';

/** Answer with the API's error envelope. */
export function sendApiError(reply: FastifyReply, status: number, code: ApiErrorCode, detail: string): FastifyReply {
  return reply.code(status).send({ detail, code });
}

/** 429 in the envelope, with Retry-After (seconds) unless the fault config says to omit it. */
export function sendRateLimited(reply: FastifyReply, retryAfterSeconds: number | null): FastifyReply {
  if (retryAfterSeconds !== null) reply.header('retry-after', String(retryAfterSeconds));
  return sendApiError(reply, 429, 'rate_limited', 'Request was throttled.');
}
