import { ConfigError } from '../errors/errors.js';
import type { SandboxOptions } from './sandbox-types.js';

function nonNegative(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= 0)) throw new ConfigError(name, 'expected a number >= 0');
}

/**
 * Reject options that would make the sandbox misbehave silently. Throws `ConfigError` naming the
 * option. Fault probabilities are checked by `parseFaultConfig`.
 */
export function checkSandboxOptions(options: SandboxOptions): void {
  if (options.apiKey.length === 0) throw new ConfigError('apiKey', 'is required');
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 0 && options.port <= 65535)) {
    throw new ConfigError('port', 'expected an integer in 0..65535');
  }
  nonNegative('initialBalance', options.initialBalance);
  if (options.tokenTtlMs !== undefined && !(Number.isFinite(options.tokenTtlMs) && options.tokenTtlMs > 0)) {
    throw new ConfigError('tokenTtlMs', 'expected a number > 0');
  }
  const fulfilment = options.fulfilment;
  nonNegative('fulfilment.minMs', fulfilment?.minMs);
  nonNegative('fulfilment.maxMs', fulfilment?.maxMs);
  if (fulfilment?.minMs !== undefined && fulfilment.maxMs !== undefined && fulfilment.minMs > fulfilment.maxMs) {
    throw new ConfigError('fulfilment.minMs', 'expected at most fulfilment.maxMs');
  }
  const outcomes = fulfilment?.outcomes;
  if (outcomes) {
    for (const name of ['completed', 'partial', 'failed'] as const) nonNegative(`fulfilment.outcomes.${name}`, outcomes[name]);
    if (outcomes.completed + outcomes.partial + outcomes.failed <= 0) {
      throw new ConfigError('fulfilment.outcomes', 'expected at least one outcome with a weight above 0');
    }
  }
  const webhook = options.webhook;
  if (webhook) {
    let protocol = '';
    try {
      protocol = new URL(webhook.url).protocol;
    } catch {
      throw new ConfigError('webhook.url', 'expected an http: or https: URL');
    }
    if (protocol !== 'http:' && protocol !== 'https:') throw new ConfigError('webhook.url', 'expected an http: or https: URL');
    if (webhook.secret.length === 0) throw new ConfigError('webhook.secret', 'is required');
    if (webhook.retries !== undefined && !(Number.isInteger(webhook.retries) && webhook.retries >= 0)) {
      throw new ConfigError('webhook.retries', 'expected an integer >= 0');
    }
    nonNegative('webhook.retryGapMs', webhook.retryGapMs);
    if (webhook.timeoutMs !== undefined && !(Number.isFinite(webhook.timeoutMs) && webhook.timeoutMs > 0)) {
      throw new ConfigError('webhook.timeoutMs', 'expected a number > 0');
    }
  }
}
