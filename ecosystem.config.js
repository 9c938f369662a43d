// PM2 process file: `pm2 start ecosystem.config.js` (after `npm ci && npm run build`).
//
// This package is ESM ("type": "module"), and PM2 loads its process file with require(). Node >= 20.19
// can require() an ES module and returns its namespace, and PM2 reads `apps` from that object, so a
// named `apps` export works where `export default` (or module.exports) would not.
//
// The shell's environment wins. PM2 gives each process the environment of the `pm2` command that
// starts it, overridden by an app's `env`; so every `env` value below is read from that environment
// first and only falls back to its default when unset. `REDIS_URL=redis://10.0.0.5:6379 pm2 start
// ecosystem.config.js` runs the fleet on that Redis; `pm2 reload ecosystem.config.js` picks up a
// changed environment. Secrets are not written here: export VOODOO_API_KEY and
// VOODOO_WEBHOOK_SECRET in that shell (or source an env file your deployment provides).
//
// Workers are one app each (voodoo-worker-0 … -N), not `instances: N`, so each keeps its own
// METRICS_PORT: PM2's `increment_var` numbers the ports on `pm2 start` only, and `pm2 reload
// ecosystem.config.js` gives every instance the base port again (Unitech/pm2#4502), a crash loop.
/* global process -- the environment of the `pm2` command */
const shell = process.env;

/** The shell's value of `name`, or `fallback` when it is unset or empty. */
function fromShell(name, fallback) {
  const value = shell[name];
  return value === undefined || value === '' ? fallback : value;
}

/** A whole number from the shell within [min, max], or `fallback`; anything else stops PM2 naming the variable. */
function wholeFromShell(name, fallback, min, max) {
  const raw = fromShell(name, String(fallback));
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw) || value < min || value > max) {
    throw new Error(`${name}: expected a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** Worker processes (one PM2 app each); the variable is this file's own. */
const workers = wholeFromShell('VOODOO_PM2_WORKERS', 2, 1, 64);
/** Port of worker 0's /metrics, /healthz and /readyz; worker i listens on base + i (0 = any free port for all). */
const metricsBase = wholeFromShell('METRICS_PORT', 9464, 0, 65535 - workers + 1);

/** Defaults of what every process reads; the shell's values win. */
const common = {
  NODE_ENV: fromShell('NODE_ENV', 'production'),
  REDIS_URL: fromShell('REDIS_URL', 'redis://127.0.0.1:6379'),
  QUEUE_PREFIX: fromShell('QUEUE_PREFIX', 'bull'),
  LOG_LEVEL: fromShell('LOG_LEVEL', 'info'),
};

const shared = {
  script: 'dist/cli.js',
  exec_mode: 'fork',
  // PM2 sends SIGINT, then SIGKILL after kill_timeout ms. A stopping worker lets its in-flight jobs
  // finish, each API request bounded by HTTP_TIMEOUT_MS (at most 25 s), and the receiver lets a
  // request finish within its 30 s request timeout: 40 s covers both. Whatever a SIGKILL still cuts
  // short is recovered by the other workers (the ledger makes every step idempotent).
  kill_timeout: 40_000,
  // Each process sends 'ready' over IPC once it consumes (worker) or listens (webhook); PM2 counts it
  // online then, not when it was merely spawned, and a reload moves on only then. A process that is
  // not ready after listen_timeout ms counts as online anyway: check /readyz.
  wait_ready: true,
  listen_timeout: 30_000,
  // A process that exits at once (Redis refused by the startup checks, a bad variable) is restarted
  // with a growing delay instead of in a tight loop; its log says why.
  exp_backoff_restart_delay: 500,
  max_memory_restart: '512M',
};

export const apps = [
  ...Array.from({ length: workers }, (_, i) => ({
    ...shared,
    name: `voodoo-worker-${i}`,
    args: 'worker',
    env: { ...common, METRICS_PORT: String(metricsBase === 0 ? 0 : metricsBase + i) },
  })),
  {
    ...shared,
    name: 'voodoo-webhook',
    args: 'webhook',
    env: { ...common, WEBHOOK_PORT: fromShell('WEBHOOK_PORT', '8080') },
  },
];
