// The image's HEALTHCHECK: GET /readyz of the process this container runs; exit 0 when it answers 200.
//
//   node deploy/docker/healthcheck.js [role]
//
// One image serves every role, and the role decides the port, so the role comes from the argument or
// else from the container's command line (/proc/1/cmdline: `tini -s -- node dist/cli.js <role>`, also
// under compose's `init: true`). Plain Node (fetch): the slim image has no curl.
/* global process, console, fetch, AbortSignal -- Node globals; eslint lints this plain script without Node's types */
import { readFileSync } from 'node:fs';

/** Where each role answers, from the same variables (and defaults) the process itself reads. */
function target(role, env, args) {
  switch (role) {
    case 'worker':
      return { port: env.METRICS_PORT ?? '9464', path: '/readyz' };
    case 'webhook':
      return { port: env.WEBHOOK_PORT ?? '8080', path: '/readyz' };
    case 'dashboard':
      return { port: env.DASHBOARD_PORT ?? '3000', path: '/readyz' };
    case 'sandbox': {
      // The sandbox (development only) has no /readyz: any answer of its admin API will do.
      const flag = args.find((arg) => arg.startsWith('--port='));
      return { port: flag === undefined ? '' : flag.slice('--port='.length), path: '/sandbox/stats' };
    }
    default:
      return null;
  }
}

function containerCommand() {
  try {
    return readFileSync('/proc/1/cmdline', 'utf8').split('\0').filter((arg) => arg !== '');
  } catch {
    return [];
  }
}

const command = containerCommand();
const cli = command.findIndex((arg) => arg.endsWith('dist/cli.js'));
const role = process.argv[2] ?? (cli === -1 ? undefined : command[cli + 1]);
const where = target(role, process.env, command);
if (where === null) {
  // A one-shot command (enqueue, status, catalog) has nothing to check.
  process.exit(0);
}
if (!/^[1-9][0-9]*$/.test(where.port)) {
  console.error(`healthcheck: no fixed port for ${role} (got "${where.port}"); set it explicitly`);
  process.exit(1);
}
const url = `http://127.0.0.1:${where.port}${where.path}`;
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(4_000) });
  const body = await response.text();
  if (response.status !== 200) {
    console.error(`healthcheck: ${url} answered ${response.status} ${body.slice(0, 500)}`);
    process.exit(1);
  }
} catch (err) {
  console.error(`healthcheck: ${url}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
