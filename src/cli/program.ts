import { Command } from 'commander';
import { registerCatalogCommand } from './catalog-command.js';
import { registerDashboardCommand } from './dashboard-command.js';
import { registerEnqueueCommand } from './enqueue-command.js';
import { registerWebhookCommand } from './webhook-command.js';
import { registerWorkerCommand } from './worker-command.js';
import { registerSandboxCommand } from './sandbox-command.js';
import { registerStatusCommand } from './status-command.js';

/** Build the `voodoo-fulfillment` command tree. Each command lives in its own file under src/cli/. */
export function buildProgram(): Command {
  const program = new Command('voodoo-fulfillment')
    .description('Buy digital goods through the Voodoo Center API from a Redis queue, exactly once per merchant_order_id.')
    .version('0.1.0')
    .showHelpAfterError();
  registerWorkerCommand(program);
  registerWebhookCommand(program);
  registerEnqueueCommand(program);
  registerStatusCommand(program);
  registerDashboardCommand(program);
  registerSandboxCommand(program);
  registerCatalogCommand(program);
  return program;
}
