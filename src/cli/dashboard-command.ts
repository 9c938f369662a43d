import type { Command } from 'commander';

/** `voodoo-fulfillment dashboard`: a read-only bull-board view of order-intents and order-results. */
export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('serve a read-only bull-board view of order-intents and order-results on DASHBOARD_HOST:DASHBOARD_PORT (codes hidden; no login, so loopback by default)')
    .action(async () => {
      const [{ runUntilSignal }, { startDashboardProcess }] = await Promise.all([import('./process-runner.js'), import('../dashboard/dashboard-process.js')]);
      await runUntilSignal('dashboard', startDashboardProcess);
    });
}
