#!/usr/bin/env node
import { buildCliProgram } from './cli/program.js';
import { errorMessage } from './errors/errors.js';

// The bin entry: the only module that does something when loaded.
buildCliProgram(process.argv)
  .then((program) => program.parseAsync(process.argv))
  .catch((err: unknown) => {
    console.error(errorMessage(err));
    process.exit(1);
  });
