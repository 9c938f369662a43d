import { randomInt } from 'node:crypto';
import Fastify, { type FastifyError } from 'fastify';
import type { Logger } from 'pino';
import { Catalog } from '../catalog/catalog.js';
import { sampleCatalogItems } from '../catalog/sample-items.js';
import { AccessTokens } from './access-tokens.js';
import { registerAdminRoutes } from './admin-routes.js';
import { sendApiError } from './api-errors.js';
import { registerApiRoutes } from './api-routes.js';
import { parseFaultConfig } from './fault-config-schema.js';
import { checkSandboxOptions } from './sandbox-options-check.js';
import { FaultInjector } from './faults.js';
import { Fulfilment } from './fulfilment.js';
import { HangingReplies } from './hanging-replies.js';
import { orderRecord } from './order-view.js';
import { SandboxLedger } from './sandbox-ledger.js';
import type { FaultConfig, LocalSandbox, SandboxCallCounts, SandboxOptions, SandboxStats } from './sandbox-types.js';
import { seededRandom, streamSeed } from './seeded-random.js';
import { WebhookSender } from './webhook-sender.js';
import { listenUrl } from '../http/listen-url.js';
import { LOG_EVENT } from '../logging/log-events.js';

/** Parameters of {@link startSandbox}: the options plus what is injected. */
export interface StartSandboxParams extends SandboxOptions {
  /** Items the sandbox sells. Tests and the CLI default to `Catalog.fromItems(sampleCatalogItems())`. */
  catalog: Catalog;
  /** Where the sandbox logs; silent when omitted. Keys, tokens, codes and the secret are never logged. */
  logger?: Logger;
  /**
   * Clock of the access tokens, epoch ms: when one is issued, the `exp` it states and when it stops
   * working. Default `Date.now`. Tests advance their own to expire a token without waiting for it.
   */
  tokenClock?: () => number;
}

const DEFAULTS = {
  host: '127.0.0.1',
  initialBalance: 1000,
  tokenTtlMs: 2 * 60 * 60 * 1000,
  minMs: 50,
  maxMs: 200,
  outcomes: { completed: 8, partial: 1, failed: 1 },
  webhookRetries: 3,
  webhookRetryGapMs: 60_000,
  webhookTimeoutMs: 30_000,
} as const;

/** The default catalog: the sample items. */
export function defaultSandboxCatalog(): Catalog {
  return Catalog.fromItems(sampleCatalogItems());
}


function errorCodeFor(status: number): Parameters<typeof sendApiError>[2] {
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_media_type';
  return 'validation_error';
}

/**
 * Start a local HTTP server that behaves as shared/voodoo-api.md describes, faults included, with
 * a /sandbox admin surface. Resolves once it listens.
 */
export async function startSandbox(params: StartSandboxParams): Promise<LocalSandbox> {
  const logger = params.logger?.child({ component: 'sandbox' });
  const now = (): number => Date.now();
  const seed = params.seed ?? randomInt(0, 2 ** 31);
  let faultConfig: FaultConfig = parseFaultConfig(params.faults ?? {});
  checkSandboxOptions(params);
  const minMs = params.fulfilment?.minMs ?? DEFAULTS.minMs;
  // An explicit min above the default max widens the default rather than failing.
  const maxMs = params.fulfilment?.maxMs ?? Math.max(minMs, DEFAULTS.maxMs);

  const tokens = new AccessTokens({ apiKey: params.apiKey, ttlMs: params.tokenTtlMs ?? DEFAULTS.tokenTtlMs, now: params.tokenClock ?? now });
  tokens.setAuthDisabled(params.apiKeyAuthDisabled ?? false);
  const ledger = new SandboxLedger(params.catalog, params.initialBalance ?? DEFAULTS.initialBalance, now);
  const faults = new FaultInjector(faultConfig, seededRandom(streamSeed(seed, 'faults')));
  const webhooks = params.webhook
    ? new WebhookSender({
        url: params.webhook.url,
        secret: params.webhook.secret,
        retries: params.webhook.retries ?? DEFAULTS.webhookRetries,
        retryGapMs: params.webhook.retryGapMs ?? DEFAULTS.webhookRetryGapMs,
        timeoutMs: params.webhook.timeoutMs ?? DEFAULTS.webhookTimeoutMs,
        faults,
        logger,
      })
    : undefined;
  const fulfilment = new Fulfilment({
    minMs,
    maxMs,
    outcomes: params.fulfilment?.outcomes ?? DEFAULTS.outcomes,
    ledger,
    random: seededRandom(streamSeed(seed, 'outcomes')),
    codeRandom: seededRandom(streamSeed(seed, 'codes')),
    onSettled: (order) => webhooks?.send(order),
    logger,
  });
  const hangs = new HangingReplies();
  const calls: SandboxCallCounts = { token: 0, balance: 0, create: 0, lookup: 0 };

  // forceCloseConnections: close() must not wait for clients' idle keep-alive sockets.
  const app = Fastify({ logger: false, forceCloseConnections: true });
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendApiError(reply, status, errorCodeFor(status), error.message);
    logger?.error({ err: error }, 'sandbox request failed');
    return sendApiError(reply, 500, 'server_error', 'A server error occurred.');
  });
  app.setNotFoundHandler((_request, reply) => sendApiError(reply, 404, 'not_found', 'Not found.'));

  const stats = (): SandboxStats => {
    const sent = webhooks?.stats() ?? { sent: 0, acknowledged: 0, failed: 0, dropped: 0, abandoned: 0 };
    return {
      calls: { ...calls },
      faults: faults.counts(),
      webhooks: sent,
      charged: ledger.charged(),
      refunded: ledger.refunded(),
    };
  };

  let closing: Promise<void> | undefined;
  let url = '';
  const sandbox: LocalSandbox = {
    get url() {
      return url;
    },
    setFaults(config) {
      faultConfig = parseFaultConfig(config);
      faults.set(faultConfig);
    },
    faults: () => faultConfig,
    topUp: (amount) => ledger.topUp(amount),
    setBalance: (amount) => ledger.setBalance(amount),
    balance: () => ledger.balance(),
    orders: () => {
      const nowMs = now();
      return ledger.orders().map((order) => orderRecord(order, nowMs));
    },
    stats,
    revokeKey: () => tokens.revokeKey(),
    setApiKeyAuthDisabled: (disabled) => tokens.setAuthDisabled(disabled),
    close() {
      closing ??= (async () => {
        fulfilment.stop();
        hangs.cancelAll();
        await Promise.all([webhooks?.close(), app.close()]);
        logger?.info('sandbox closed');
      })();
      return closing;
    },
  };

  registerApiRoutes(app, { tokens, ledger, faults, fulfilment, hangs, calls, now });
  registerAdminRoutes(app, sandbox);

  const host = params.host ?? DEFAULTS.host;
  await app.listen({ host, port: params.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (params.port ?? 0);
  url = listenUrl(host, port);
  logger?.info({ event: LOG_EVENT.sandboxListening, url, seed, webhook: params.webhook ? new URL(params.webhook.url).origin : null }, 'sandbox listening');
  return sandbox;
}
