import { errorMessage } from '../src/errors/errors.js';
import { buildToolsProgram } from './cli/program.js';

// The tools' entry (`tsx tools/cli.ts demo|bench|chaos`): the only tools module that does something when loaded.
buildToolsProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    console.error(errorMessage(err));
    process.exit(1);
  });
