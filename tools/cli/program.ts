import { Command } from 'commander';
import { registerBenchCommand } from './bench-command.js';
import { registerBenchMemoryFloorCommand } from './bench-memory-floor-command.js';
import { registerBenchNoopWorkerCommand } from './bench-noop-worker-command.js';
import { registerChaosCommand } from './chaos-command.js';
import { registerDemoCommand } from './demo-command.js';

/**
 * The development tools' command tree (`npm run demo|bench|chaos -- --options`). They run from
 * TypeScript source with tsx, beside the product: nothing here ships in the package.
 */
export function buildToolsProgram(): Command {
  const program = new Command('npm run')
    .description('Development tools of voodoo-fulfillment, run as npm run demo|bench|chaos (-- --options); they start the built product (dist/cli.js).')
    .showHelpAfterError();
  registerDemoCommand(program);
  registerBenchCommand(program);
  registerChaosCommand(program);
  registerBenchNoopWorkerCommand(program);
  registerBenchMemoryFloorCommand(program);
  return program;
}
