import type { Command } from 'commander';

/** `voodoo-fulfillment sandbox`: placeholder until src/sandbox lands. */
export function registerSandboxCommand(program: Command): void {
  program
    .command('sandbox')
    .description('run a local sandbox of the Voodoo Center API')
    .action(() => {
      throw new Error('sandbox: not yet');
    });
}
