import { z } from 'zod';
import { ConfigError } from '../errors/errors.js';
import type { FaultConfig } from './sandbox-types.js';

const probability = z.number().min(0, 'expected a probability in 0..1').max(1, 'expected a probability in 0..1');
const ms = z.number().int('expected whole milliseconds').min(0, 'expected at least 0');

// Strict objects: a misspelt fault name would otherwise silently inject nothing.
const schema = z.strictObject({
  token: z.strictObject({ unavailable: probability.optional() }).optional(),
  balance: z.strictObject({ rateLimited: probability.optional(), serverError: probability.optional() }).optional(),
  create: z
    .strictObject({
      unavailableBeforeCommit: probability.optional(),
      badGatewayAfterCommit: probability.optional(),
      resetAfterCommit: probability.optional(),
      hangAfterCommit: probability.optional(),
      rateLimited: probability.optional(),
    })
    .optional(),
  lookup: z
    .strictObject({
      serverError: probability.optional(),
      rateLimited: probability.optional(),
      notFoundAfterCreate: probability.optional(),
      notFoundWindowMs: ms.optional(),
    })
    .optional(),
  webhook: z
    .strictObject({
      drop: probability.optional(),
      duplicate: probability.optional(),
      delay: probability.optional(),
      delayMs: ms.optional(),
    })
    .optional(),
  retryAfterSeconds: z.number().int('expected whole seconds').min(0).nullable().optional(),
  hangMs: ms.optional(),
});

/**
 * Validate a fault configuration from outside the process (CLI, admin route). Throws a
 * `ConfigError` naming the offending path, e.g. `faults.create.resetAfterCommit: expected a probability in 0..1`.
 */
export function parseFaultConfig(input: unknown, name = 'faults'): FaultConfig {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = [name, ...(issue?.path ?? []).map(String)].join('.');
    throw new ConfigError(path, issue?.message ?? 'invalid');
  }
  return parsed.data;
}
