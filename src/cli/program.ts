import { createRequire } from 'node:module';
import { Command } from 'commander';
import { registerCatalogCommand } from './catalog-command.js';
import { registerDashboardCommand } from './dashboard-command.js';
import { registerEnqueueCommand } from './enqueue-command.js';
import { registerWebhookCommand } from './webhook-command.js';
import { registerWorkerCommand } from './worker-command.js';
import { registerResolveCommand } from './resolve-command.js';
import { registerSandboxCommand } from './sandbox-command.js';
import { registerStatusCommand } from './status-command.js';

/** This package's version, from its package.json (two levels up both from src/cli/ and dist/cli/). */
function packageVersion(): string {
  const manifest = createRequire(import.meta.url)('../../package.json') as { version: string };
  return manifest.version;
}

/**
 * The product commands (worker, webhook, enqueue, status, resolve, dashboard, sandbox, catalog). Each lives in
 * its own file under src/cli/ and is cheap to register: it loads its option parsers only, and its
 * action imports what it runs.
 */
export function buildProgram(): Command {
  const program = new Command('voodoo-fulfillment')
    .description('Buy digital goods through the Voodoo Center API from a Redis queue, exactly once per merchant_order_id.')
    .version(packageVersion())
    .showHelpAfterError();
  registerWorkerCommand(program);
  registerWebhookCommand(program);
  registerEnqueueCommand(program);
  registerStatusCommand(program);
  registerResolveCommand(program);
  registerDashboardCommand(program);
  registerSandboxCommand(program);
  registerCatalogCommand(program);
  return program;
}
