#!/usr/bin/env node
import { buildProgram } from './cli/program.js';

// The bin entry: the only module that does something when loaded.
buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
