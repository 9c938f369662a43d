import type { Command } from 'commander';
import { registerBenchCommand } from './bench-command.js';
import { registerChaosCommand } from './chaos-command.js';
import { registerDemoCommand } from './demo-command.js';

/**
 * The development commands (demo, bench, chaos), after the product ones. Their files import the
 * tools they run, so the bin loads this module only when argv does not run a product command.
 */
export function registerDevCommands(program: Command): void {
  registerDemoCommand(program);
  registerBenchCommand(program);
  registerChaosCommand(program);
}
