import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildProgram } from '../../src/cli/program.js';
import { CONFIG_VARIABLES } from '../../src/config/config.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);

interface Pm2App {
  name: string;
  script: string;
  args: string;
  env?: Record<string, string>;
  wait_ready?: boolean;
}

function commandNames(): string[] {
  return buildProgram().commands.map((c) => c.name());
}

describe('the PM2 process file', () => {
  it('loads through PM2 own config parser although the package is ESM', () => {
    // Common.parseConfig is what `pm2 start ecosystem.config.js` calls: it require()s the file.
    const common = require('pm2/lib/Common.js') as { parseConfig: (conf: unknown, filename: string) => { apps?: Pm2App[] } };
    const config = common.parseConfig(null, `${root}/ecosystem.config.js`);
    const apps = config.apps ?? [];
    expect(apps.map((a) => a.name)).toEqual(['voodoo-worker', 'voodoo-webhook']);
    for (const app of apps) {
      expect(app.script).toBe('dist/cli.js');
      expect(commandNames()).toContain(app.args);
      // The processes say when they are ready (process.send('ready')); PM2 waits for it.
      expect(app.wait_ready).toBe(true);
      for (const variable of Object.keys(app.env ?? {})) {
        if (variable !== 'NODE_ENV') expect(CONFIG_VARIABLES).toContain(variable);
      }
    }
  });
});

describe('the docker compose file', () => {
  const compose = parse(readFileSync(`${root}/docker-compose.yml`, 'utf8'), { merge: true }) as {
    services: Record<string, { command?: string[]; environment?: Record<string, string>; build?: string }>;
  };

  it('runs the fleet roles with commands the CLI has', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['redis', 'sandbox', 'worker', 'webhook', 'dashboard']));
    for (const name of ['sandbox', 'worker', 'webhook', 'dashboard']) {
      const command = compose.services[name]?.command?.[0];
      expect(commandNames()).toContain(command);
      expect(compose.services[name]?.build).toBe('.');
    }
    expect(existsSync(`${root}/Dockerfile`)).toBe(true);
  });

  it('passes only configuration variables the processes know', () => {
    for (const name of ['worker', 'webhook', 'dashboard']) {
      for (const variable of Object.keys(compose.services[name]?.environment ?? {})) {
        expect(CONFIG_VARIABLES).toContain(variable);
      }
    }
  });

  it('keeps the API key and webhook secret away from the dashboard, which has no login', () => {
    const variables = Object.keys(compose.services.dashboard?.environment ?? {});
    expect(variables).toContain('REDIS_URL');
    expect(variables).not.toContain('VOODOO_API_KEY');
    expect(variables).not.toContain('VOODOO_WEBHOOK_SECRET');
  });

  it('gives the sandbox only options its command accepts', () => {
    const sandbox = buildProgram().commands.find((c) => c.name() === 'sandbox');
    const known = new Set(sandbox?.options.map((o) => o.long));
    const flags = (compose.services.sandbox?.command ?? []).slice(1).map((arg) => arg.split('=')[0]);
    expect(flags.length).toBeGreaterThan(0);
    for (const flag of flags) expect(known).toContain(flag);
  });
});
