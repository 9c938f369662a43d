// Loaded with `node --import <this file>`: records every module the process loads, one URL a line,
// in the file named by MODULE_RECORD_FILE. ES modules are recorded by a resolve hook (every import a
// module resolves, whichever loader thread runs it); CommonJS modules loaded with require() (which
// the hook does not see on Node 20) are added from require.cache when the process exits.
// Plain JavaScript on purpose: it runs in node without a TypeScript loader (tests and package checks).
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const file = process.env.MODULE_RECORD_FILE;
if (file === undefined || file === '') throw new Error('module-recorder: set MODULE_RECORD_FILE');

register('./module-recorder-hooks.js', import.meta.url, { data: { file } });

const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  const lines = Object.keys(cache).map((path) => `${pathToFileURL(path).href}\n`);
  appendFileSync(file, lines.join(''));
});
