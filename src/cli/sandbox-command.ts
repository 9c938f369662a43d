import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { DestinationStream } from 'pino';
import { ConfigError, errorMessage } from '../errors/errors.js';
import { LOG_LEVELS } from '../logging/log-levels.js';
import type { FaultConfig, OutcomeMix, SandboxOptions } from '../sandbox/sandbox-types.js';
import { wholeNumber } from './option-parsers.js';
import { signalReady } from './ready-signal.js';

/** What the command talks to besides the sandbox; tests replace it, the bin uses the process. */
export interface SandboxCommandIo {
  /** Where the `sandbox listening on …` line goes. */
  write(text: string): unknown;
  /** Called once the sandbox listens (the bin tells a parent listening over IPC, see ready-signal.ts). */
  ready?: () => void;
  /** Resolves when the sandbox should stop (SIGINT or SIGTERM for the bin). */
  untilStopped(): Promise<void>;
  /** Where log lines go (opened only when the command runs); stderr for the bin, so stdout carries only the listening line. */
  logDestination?: () => DestinationStream | Promise<DestinationStream>;
}

/** Raw options as commander hands them over (after the per-option parsers below). */
interface SandboxCliOptions {
  port: number;
  host: string;
  apiKey: string;
  webhookUrl?: string;
  webhookSecret?: string;
  webhookRetries?: number;
  webhookRetryGapMs?: number;
  webhookTimeoutMs?: number;
  balance?: number;
  tokenTtlMs?: number;
  minFulfilMs?: number;
  maxFulfilMs?: number;
  outcomes?: OutcomeMix;
  faults?: string;
  catalog?: string;
  seed?: number;
  apiKeyAuthDisabled?: boolean;
  logLevel: string;
}


function amount(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected an amount >= 0');
  return n;
}

/** `completed=8,partial=1,failed=1`; names left out weigh 0. */
function outcomes(value: string): OutcomeMix {
  const mix: OutcomeMix = { completed: 0, partial: 0, failed: 0 };
  for (const part of value.split(',')) {
    const [name, weight, extra] = part.split('=').map((s) => s.trim());
    const n = Number(weight);
    if (extra !== undefined || weight === undefined || weight === '' || !Number.isFinite(n) || n < 0) {
      throw new InvalidArgumentError(`expected name=weight pairs such as completed=8,partial=1,failed=1 (got "${part}")`);
    }
    if (name !== 'completed' && name !== 'partial' && name !== 'failed') {
      throw new InvalidArgumentError(`unknown outcome "${name ?? ''}" (expected completed, partial or failed)`);
    }
    mix[name] = n;
  }
  if (mix.completed + mix.partial + mix.failed <= 0) throw new InvalidArgumentError('expected at least one weight above 0');
  return mix;
}

function url(value: string): string {
  let protocol: string;
  try {
    protocol = new URL(value).protocol;
  } catch {
    throw new InvalidArgumentError('expected an http:// or https:// URL');
  }
  if (protocol !== 'http:' && protocol !== 'https:') throw new InvalidArgumentError('expected an http:// or https:// URL');
  return value;
}

/** `--faults` takes JSON inline or `@path` to a JSON file. */
async function readFaults(value: string): Promise<FaultConfig> {
  let text = value;
  if (value.startsWith('@')) {
    const path = value.slice(1);
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new ConfigError('--faults', `cannot read ${path} (${errorMessage(err)})`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError('--faults', 'expected JSON (or @path to a JSON file) holding a fault configuration');
  }
  const { parseFaultConfig } = await import('../sandbox/fault-config-schema.js');
  return parseFaultConfig(json, '--faults');
}

function signals(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

function processIo(): SandboxCommandIo {
  return {
    write: (text) => process.stdout.write(text),
    ready: signalReady,
    untilStopped: signals,
    logDestination: async () => (await import('pino')).destination({ dest: 2, sync: true }),
  };
}

async function toSandboxOptions(opts: SandboxCliOptions): Promise<SandboxOptions> {
  if (opts.webhookUrl !== undefined && opts.webhookSecret === undefined) {
    throw new ConfigError('--webhook-secret', 'is required with --webhook-url');
  }
  if (opts.minFulfilMs !== undefined && opts.maxFulfilMs !== undefined && opts.minFulfilMs > opts.maxFulfilMs) {
    throw new ConfigError('--min-fulfil-ms', 'expected at most --max-fulfil-ms');
  }
  const fulfilment: NonNullable<SandboxOptions['fulfilment']> = {};
  if (opts.minFulfilMs !== undefined) fulfilment.minMs = opts.minFulfilMs;
  if (opts.maxFulfilMs !== undefined) fulfilment.maxMs = opts.maxFulfilMs;
  if (opts.outcomes !== undefined) fulfilment.outcomes = opts.outcomes;
  const options: SandboxOptions = {
    apiKey: opts.apiKey,
    host: opts.host,
    port: opts.port,
    fulfilment,
    apiKeyAuthDisabled: opts.apiKeyAuthDisabled === true,
  };
  if (opts.balance !== undefined) options.initialBalance = opts.balance;
  if (opts.tokenTtlMs !== undefined) options.tokenTtlMs = opts.tokenTtlMs;
  if (opts.seed !== undefined) options.seed = opts.seed;
  if (opts.faults !== undefined) options.faults = await readFaults(opts.faults);
  if (opts.webhookUrl !== undefined && opts.webhookSecret !== undefined) {
    options.webhook = { url: opts.webhookUrl, secret: opts.webhookSecret };
    if (opts.webhookRetries !== undefined) options.webhook.retries = opts.webhookRetries;
    if (opts.webhookRetryGapMs !== undefined) options.webhook.retryGapMs = opts.webhookRetryGapMs;
    if (opts.webhookTimeoutMs !== undefined) options.webhook.timeoutMs = opts.webhookTimeoutMs;
  }
  return options;
}

/** `voodoo-fulfillment sandbox`: run the local Voodoo Center API sandbox until SIGINT/SIGTERM. */
export function registerSandboxCommand(program: Command, io: SandboxCommandIo = processIo()): void {
  program
    .command('sandbox')
    .description('run a local sandbox of the Voodoo Center API (faults included) for integration tests')
    .addOption(new Option('--api-key <key>', 'the one API key the sandbox accepts').env('VOODOO_API_KEY').makeOptionMandatory())
    .option('--port <n>', 'port to listen on (0 picks a free one)', wholeNumber(0, 65535), 0)
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--webhook-url <url>', 'where to POST webhook events (none sent without it)', url)
    .addOption(new Option('--webhook-secret <secret>', 'HMAC secret that signs webhook events').env('VOODOO_WEBHOOK_SECRET'))
    .option('--webhook-retries <n>', 'retries after a failed delivery (default 3)', wholeNumber(0, 100))
    .option('--webhook-retry-gap-ms <ms>', 'gap between deliveries of one event (default 60000)', wholeNumber(0, Number.MAX_SAFE_INTEGER))
    .option('--webhook-timeout-ms <ms>', 'a delivery not answered within this fails (default 30000)', wholeNumber(1, Number.MAX_SAFE_INTEGER))
    .option('--balance <amount>', 'starting balance in major units (default 1000)', amount)
    .option('--token-ttl-ms <ms>', 'access-token lifetime (default 2 h)', wholeNumber(1, Number.MAX_SAFE_INTEGER))
    .option('--min-fulfil-ms <ms>', 'shortest time to a terminal status (default 50)', wholeNumber(0, Number.MAX_SAFE_INTEGER))
    .option('--max-fulfil-ms <ms>', 'longest time to a terminal status (default 200)', wholeNumber(0, Number.MAX_SAFE_INTEGER))
    .option('--outcomes <mix>', 'weights of terminal outcomes, e.g. completed=8,partial=1,failed=1', outcomes)
    .option('--faults <json|@file>', 'fault configuration (FaultConfig JSON, or @path to a JSON file)')
    .option('--catalog <path>', 'catalog snapshot (catalog.lmdb.zst) to sell from (default: the built-in sample items)')
    .option('--seed <n>', 'seed for outcomes, faults and codes, for repeatable runs', wholeNumber(0, 2 ** 32 - 1))
    .option('--api-key-auth-disabled', 'answer every token exchange 403, as for an account without API-key auth')
    .addOption(new Option('--log-level <level>', 'log level (logs go to stderr)').choices(LOG_LEVELS).default('info'))
    .action(async (opts: SandboxCliOptions) => {
      const options = await toSandboxOptions(opts);
      const [{ createLogger }, { defaultSandboxCatalog, startSandbox }] = await Promise.all([
        import('../logging/logger.js'),
        import('../sandbox/sandbox-server.js'),
      ]);
      const snapshot = opts.catalog;
      // The snapshot reader (LMDB, zstd) is loaded only for --catalog.
      const catalog =
        snapshot === undefined
          ? defaultSandboxCatalog()
          : await import('../catalog/catalog-file.js').then(({ readCatalogFile }) => readCatalogFile(snapshot));
      const secrets = [opts.apiKey, ...(opts.webhookSecret === undefined ? [] : [opts.webhookSecret])];
      const logger = createLogger({
        level: opts.logLevel,
        secrets,
        ...(io.logDestination === undefined ? {} : { destination: await io.logDestination() }),
      });
      const sandbox = await startSandbox({ ...options, catalog, logger });
      io.write(`sandbox listening on ${sandbox.url}\n`);
      // Ready once a stop signal would close it gracefully.
      const stopped = io.untilStopped();
      io.ready?.();
      await stopped;
      await sandbox.close();
    });
}
