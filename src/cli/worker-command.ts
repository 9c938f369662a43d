import type { Command } from 'commander';

/** `voodoo-fulfillment worker`: consume order intents and drive each order to one result. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('consume order-intents, place and poll orders, emit one result per merchant_order_id (config from the environment, see README)')
    .action(async () => {
      const [{ runUntilSignal }, { startWorkerProcess }] = await Promise.all([import('./process-runner.js'), import('../worker/worker-process.js')]);
      await runUntilSignal('worker', startWorkerProcess);
    });
}
