import type { Command } from 'commander';
import { startWebhookProcess } from '../webhook/webhook-process.js';
import { runUntilSignal } from './process-runner.js';

/** `voodoo-fulfillment webhook`: the webhook receiver. */
export function registerWebhookCommand(program: Command): void {
  program
    .command('webhook')
    .description('receive signed Voodoo Center webhooks on WEBHOOK_PORT at /webhooks/voodoo (config from the environment, see README)')
    .action(() => runUntilSignal('webhook', startWebhookProcess));
}
