import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** How to start a command of the tools' own CLI (tools/cli.ts) as a child process. */
export interface ToolsCliLaunch {
  /** Absolute path of tools/cli.ts. */
  cliPath: string;
  /** Node options that load tsx, so the TypeScript entry runs from source. */
  nodeArgs: string[];
}

/**
 * tools/cli.ts run by `node --import <tsx loader>`: the tools are not built, and one node process
 * (no tsx wrapper in between) keeps the child's pid, signals and /proc figures its own.
 */
export function toolsCliLaunch(): ToolsCliLaunch {
  const tsxLoader = createRequire(import.meta.url).resolve('tsx');
  return { cliPath: fileURLToPath(new URL('../cli.ts', import.meta.url)), nodeArgs: ['--import', pathToFileURL(tsxLoader).href] };
}
