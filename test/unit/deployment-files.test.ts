import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildProgram } from '../../src/cli/program.js';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config/config.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);

interface Pm2App {
  name: string;
  script: string;
  args: string;
  env?: Record<string, string>;
  wait_ready?: boolean;
  listen_timeout?: number;
  kill_timeout?: number;
  instances?: number;
  increment_var?: string;
}

function commandNames(): string[] {
  return buildProgram().commands.map((c) => c.name());
}

/**
 * The process file's apps as it computes them from `shell` (a fresh module instance, so the
 * environment it reads at load time is this one). The real environment is restored afterwards.
 */
async function appsWith(shell: Record<string, string | undefined>): Promise<Pm2App[]> {
  const saved = new Map(Object.keys(shell).map((name) => [name, process.env[name]]));
  const restore = (name: string, value: string | undefined): void => {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };
  for (const [name, value] of Object.entries(shell)) restore(name, value);
  try {
    const url = `${pathToFileURL(`${root}/ecosystem.config.js`).href}?shell=${encodeURIComponent(JSON.stringify(shell))}`;
    return ((await import(url)) as { apps: Pm2App[] }).apps;
  } finally {
    for (const [name, value] of saved) restore(name, value);
  }
}

describe('the PM2 process file', () => {
  it('loads through PM2 own config parser although the package is ESM', () => {
    // Common.parseConfig is what `pm2 start ecosystem.config.js` calls: it require()s the file.
    const common = require('pm2/lib/Common.js') as { parseConfig: (conf: unknown, filename: string) => { apps?: Pm2App[] } };
    const config = common.parseConfig(null, `${root}/ecosystem.config.js`);
    const apps = config.apps ?? [];
    expect(apps.map((a) => a.name)).toEqual(['voodoo-worker-0', 'voodoo-worker-1', 'voodoo-webhook']);
    for (const app of apps) {
      expect(app.script).toBe('dist/cli.js');
      expect(commandNames()).toContain(app.args);
      // The processes say when they are ready (process.send('ready')); PM2 waits for it.
      expect(app.wait_ready).toBe(true);
      expect(app.listen_timeout).toBeGreaterThan(0);
      for (const variable of Object.keys(app.env ?? {})) {
        if (variable !== 'NODE_ENV') expect(CONFIG_VARIABLES).toContain(variable);
      }
    }
  });

  it("takes every value from the shell's environment and defaults only what it leaves unset", async () => {
    const shell = { REDIS_URL: 'redis://10.9.8.7:6390/2', QUEUE_PREFIX: 'shop', LOG_LEVEL: 'warn', NODE_ENV: 'staging', WEBHOOK_PORT: '8181' };
    for (const app of await appsWith(shell)) {
      for (const [name, value] of Object.entries(shell)) {
        if (name in (app.env ?? {})) expect(app.env?.[name], `${app.name} ${name}`).toBe(value);
      }
      expect(app.env?.REDIS_URL).toBe(shell.REDIS_URL);
    }
    const unset = await appsWith({ REDIS_URL: undefined, QUEUE_PREFIX: undefined, METRICS_PORT: undefined, WEBHOOK_PORT: undefined });
    // The documented defaults, which are the processes' own.
    const defaults = loadConfig({});
    for (const app of unset) {
      expect(app.env?.REDIS_URL).toBe(defaults.REDIS_URL);
      expect(app.env?.QUEUE_PREFIX).toBe(defaults.QUEUE_PREFIX);
    }
    expect(unset.find((a) => a.name === 'voodoo-webhook')?.env?.WEBHOOK_PORT).toBe(String(defaults.WEBHOOK_PORT));
  });

  it("gives each worker its own metrics port from the shell's base, which a reload cannot take back", async () => {
    const ports = (apps: Pm2App[]): (string | undefined)[] => apps.filter((a) => a.args === 'worker').map((a) => a.env?.METRICS_PORT);
    expect(ports(await appsWith({ METRICS_PORT: undefined, VOODOO_PM2_WORKERS: undefined }))).toEqual(['9464', '9465']);
    expect(ports(await appsWith({ METRICS_PORT: '9500', VOODOO_PM2_WORKERS: '3' }))).toEqual(['9500', '9501', '9502']);
    expect(ports(await appsWith({ METRICS_PORT: '0', VOODOO_PM2_WORKERS: '2' }))).toEqual(['0', '0']);
    // One app per port: PM2's instances + increment_var hands the base port to every instance on reload.
    for (const app of await appsWith({})) {
      expect(app.instances ?? 1).toBe(1);
      expect(app.increment_var).toBeUndefined();
    }
    await expect(appsWith({ VOODOO_PM2_WORKERS: 'two' })).rejects.toThrow(/VOODOO_PM2_WORKERS: expected a whole number/);
    await expect(appsWith({ METRICS_PORT: '65535', VOODOO_PM2_WORKERS: '2' })).rejects.toThrow(/METRICS_PORT/);
  });

  it('waits longer for a process to stop than any HTTP request may take', async () => {
    for (const app of await appsWith({})) {
      const killTimeout = app.kill_timeout ?? 0;
      // No HTTP_TIMEOUT_MS the processes accept is as long as PM2's wait before SIGKILL.
      expect(() => loadConfig({ HTTP_TIMEOUT_MS: String(killTimeout) }), app.name).toThrow(/HTTP_TIMEOUT_MS/);
      // The receiver cuts a slow request after 30 s.
      expect(killTimeout, app.name).toBeGreaterThan(30_000);
    }
  });
});

type ComposeService = { command?: string[]; environment?: Record<string, string>; build?: string; extends?: { file: string; service: string } };
const composeFile = (name: string): { services: Record<string, ComposeService> } =>
  parse(readFileSync(`${root}/${name}`, 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };

describe('the docker compose files', () => {
  const services = composeFile('docker-compose.services.yml').services;
  const setups = ['docker-compose.yml', 'docker-compose.real-api.yml'].map(composeFile);
  /** The override that moves the sandbox setup's fleet onto its `cluster` profile's nodes. */
  const clusterOverride = composeFile('docker-compose.cluster.yml');

  /** A service's environment as a setup gives it: the shared definition, then the setup's own values. */
  const environmentOf = (name: string): string[] => [
    ...Object.keys(services[name]?.environment ?? {}),
    ...[...setups, clusterOverride].flatMap((setup) => Object.keys(setup.services[name]?.environment ?? {})),
  ];

  it('runs the fleet roles with commands the CLI has', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['redis', 'sandbox', 'worker', 'webhook', 'dashboard', 'prometheus', 'grafana']));
    for (const name of ['sandbox', 'worker', 'webhook', 'dashboard']) {
      const command = services[name]?.command?.[0];
      expect(commandNames()).toContain(command);
      expect(services[name]?.build).toBe('.');
    }
    for (const setup of setups) {
      for (const [name, service] of Object.entries(setup.services)) {
        // The six cluster nodes share one definition.
        const shared = /^redis-node-\d$/.test(name) ? 'redis-cluster-node' : name;
        expect(service.extends, name).toEqual({ file: 'docker-compose.services.yml', service: shared });
      }
    }
    // The override only changes services the sandbox setup has.
    for (const name of Object.keys(clusterOverride.services)) expect(setups[0]?.services[name], name).toBeDefined();
    expect(existsSync(`${root}/Dockerfile`)).toBe(true);
  });

  it('passes only configuration variables the processes know', () => {
    for (const name of ['worker', 'webhook', 'dashboard']) {
      for (const variable of environmentOf(name)) expect(CONFIG_VARIABLES).toContain(variable);
    }
  });

  it('keeps the API key and webhook secret away from the dashboard, which has no login', () => {
    const variables = environmentOf('dashboard');
    expect(variables).toContain('REDIS_URL');
    expect(variables).not.toContain('VOODOO_API_KEY');
    expect(variables).not.toContain('VOODOO_WEBHOOK_SECRET');
  });

  it('gives the sandbox only options its command accepts', () => {
    const sandbox = buildProgram().commands.find((c) => c.name() === 'sandbox');
    const known = new Set(sandbox?.options.map((o) => o.long));
    const flags = (services.sandbox?.command ?? []).slice(1).map((arg) => arg.split('=')[0]);
    expect(flags.length).toBeGreaterThan(0);
    for (const flag of flags) expect(known).toContain(flag);
  });
});

describe('the Dockerfile', () => {
  const dockerfile = readFileSync(`${root}/Dockerfile`, 'utf8');

  it('builds on a base pinned by version', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20\.\d+\.\d+-bookworm-slim$/m);
    expect(dockerfile.match(/^FROM .*/gm)).toEqual(['FROM ${NODE_IMAGE} AS build', 'FROM ${NODE_IMAGE}']);
  });

  it('runs the role under tini, so signals reach node and zombies are reaped', () => {
    expect(dockerfile).toMatch(/apt-get install -y --no-install-recommends tini/);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["tini", "-s", "--", "node", "dist\/cli\.js"\]$/m);
  });

  it('checks health with a script the image carries', () => {
    const healthcheck = /^HEALTHCHECK .* CMD \["node", "(deploy\/docker\/healthcheck\.js)"\]$/m.exec(dockerfile);
    expect(healthcheck?.[1]).toBeDefined();
    expect(dockerfile).toContain(`COPY ${healthcheck?.[1]} ./${healthcheck?.[1]}`);
    expect(existsSync(`${root}/${healthcheck?.[1]}`)).toBe(true);
    expect(readFileSync(`${root}/.dockerignore`, 'utf8')).not.toMatch(/^deploy/m);
  });
});
