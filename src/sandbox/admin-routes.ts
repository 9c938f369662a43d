import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { hasCode } from '../errors/errors.js';
import { sendApiError } from './api-errors.js';
import { parseFaultConfig } from './fault-config-schema.js';
import type { LocalSandbox } from './sandbox-types.js';

const amountBody = z.object({ amount: z.number().finite().positive() });
const balanceBody = z.object({ balance: z.number().finite().min(0) });
const authBody = z.object({ enabled: z.boolean() });

function invalid(reply: FastifyReply, error: z.ZodError): FastifyReply {
  const issue = error.issues[0];
  return sendApiError(reply, 400, 'validation_error', `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
}

/**
 * The /sandbox control surface, for processes that do not hold the `Sandbox` object (demo, bench,
 * a merchant's own tests). Deliberately unauthenticated: the sandbox is a local test double bound
 * to 127.0.0.1 by default and holds no real money or keys.
 */
export function registerAdminRoutes(app: FastifyInstance, sandbox: LocalSandbox): void {
  app.get('/sandbox/orders', () => sandbox.orders());
  app.get('/sandbox/stats', () => sandbox.stats());
  app.get('/sandbox/balance', () => ({ balance: sandbox.balance() }));

  app.post('/sandbox/balance', (request, reply) => {
    const parsed = amountBody.safeParse(request.body);
    if (!parsed.success) return invalid(reply, parsed.error);
    sandbox.topUp(parsed.data.amount);
    return { balance: sandbox.balance() };
  });

  app.put('/sandbox/balance', (request, reply) => {
    const parsed = balanceBody.safeParse(request.body);
    if (!parsed.success) return invalid(reply, parsed.error);
    sandbox.setBalance(parsed.data.balance);
    return { balance: sandbox.balance() };
  });

  app.get('/sandbox/faults', () => sandbox.faults());

  app.put('/sandbox/faults', (request, reply) => {
    try {
      sandbox.setFaults(parseFaultConfig(request.body));
    } catch (err) {
      if (hasCode(err, 'config_invalid')) return sendApiError(reply, 400, 'validation_error', err.message);
      throw err;
    }
    return sandbox.faults();
  });

  app.post('/sandbox/revoke-key', () => {
    sandbox.revokeKey();
    return { revoked: true };
  });

  app.put('/sandbox/api-key-auth', (request, reply) => {
    const parsed = authBody.safeParse(request.body);
    if (!parsed.success) return invalid(reply, parsed.error);
    sandbox.setApiKeyAuthDisabled(!parsed.data.enabled);
    return { enabled: parsed.data.enabled };
  });
}
