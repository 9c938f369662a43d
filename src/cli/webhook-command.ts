import type { Command } from 'commander';

/** `voodoo-fulfillment webhook`: the webhook receiver. */
export function registerWebhookCommand(program: Command): void {
  program
    .command('webhook')
    .description('receive signed Voodoo Center webhooks on WEBHOOK_PORT at /webhooks/voodoo (config from the environment, see README)')
    .action(async () => {
      const [{ runUntilSignal }, { startWebhookProcess }] = await Promise.all([import('./process-runner.js'), import('../webhook/webhook-process.js')]);
      await runUntilSignal('webhook', startWebhookProcess);
    });
}
