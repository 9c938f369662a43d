// PM2 process file: `pm2 start ecosystem.config.js` (after `npm ci && npm run build`).
//
// This package is ESM ("type": "module"), and PM2 loads its process file with require(). Node >= 20.19
// can require() an ES module and returns its namespace, and PM2 reads `apps` from that object, so a
// named `apps` export works where `export default` (or module.exports) would not.
//
// Secrets are not written here: export VOODOO_API_KEY and VOODOO_WEBHOOK_SECRET in the shell that
// runs pm2 (or use an env file your deployment provides); PM2 passes its environment on.
const shared = {
  script: 'dist/cli.js',
  exec_mode: 'fork',
  // PM2 sends SIGINT, then SIGKILL after kill_timeout ms. The worker finishes in-flight jobs within
  // HTTP_TIMEOUT_MS (10 s by default); whatever a SIGKILL cuts short is recovered by the others.
  kill_timeout: 30_000,
  // Each process sends 'ready' over IPC once it consumes (worker) or listens (webhook); PM2 counts it
  // online then, not when it was merely spawned (after listen_timeout ms it stops waiting).
  wait_ready: true,
  listen_timeout: 30_000,
  max_memory_restart: '512M',
  env: {
    NODE_ENV: 'production',
    REDIS_URL: 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: 'bull',
    LOG_LEVEL: 'info',
  },
};

export const apps = [
  { ...shared, name: 'voodoo-worker', args: 'worker', instances: 2 },
  { ...shared, name: 'voodoo-webhook', args: 'webhook', instances: 1, env: { ...shared.env, WEBHOOK_PORT: '8080' } },
];
