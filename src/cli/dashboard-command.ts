import type { Command } from 'commander';
import { startDashboardProcess } from '../dashboard/dashboard-process.js';
import { runUntilSignal } from './process-runner.js';

/** `voodoo-fulfillment dashboard`: a read-only bull-board view of order-intents and order-results. */
export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('serve a read-only bull-board view of order-intents and order-results on DASHBOARD_HOST:DASHBOARD_PORT (codes hidden; no login, so loopback by default)')
    .action(() => runUntilSignal('dashboard', startDashboardProcess));
}
