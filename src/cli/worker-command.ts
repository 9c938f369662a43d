import type { Command } from 'commander';
import { startWorkerProcess } from '../worker/worker-process.js';
import { runUntilSignal } from './process-runner.js';

/** `voodoo-fulfillment worker`: consume order intents and drive each order to one result. */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('consume order-intents, place and poll orders, emit one result per merchant_order_id (config from the environment, see README)')
    .action(() => runUntilSignal('worker', startWorkerProcess));
}
