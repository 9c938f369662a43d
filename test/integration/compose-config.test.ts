import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: (string | { host_ip?: string; published?: string | number; target?: number })[];
  restart?: string;
  init?: boolean;
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition?: string }>;
  profiles?: string[];
}
interface Resolved {
  services: Record<string, Service>;
}

const SANDBOX_SETUP = 'docker-compose.yml';
const REAL_API_SETUP = 'docker-compose.real-api.yml';
/** The fleet of the default setup on its `cluster` profile's Redis Cluster. */
const CLUSTER_SETUP = [SANDBOX_SETUP, 'docker-compose.cluster.yml'];
const CLUSTER_NODES = ['redis-node-1', 'redis-node-2', 'redis-node-3', 'redis-node-4', 'redis-node-5', 'redis-node-6'];
/** The one-shot job that joins the nodes into a cluster: it exits, so no restart and no healthcheck. */
const CLUSTER_CREATE = 'redis-cluster-create';
// An empty env file in place of a developer's .env beside the compose files.
let envDir = '';
let emptyEnvFile = '';
beforeAll(() => {
  envDir = mkdtempSync(join(tmpdir(), 'voodoo-compose-'));
  emptyEnvFile = join(envDir, 'empty.env');
  writeFileSync(emptyEnvFile, '');
});
afterAll(() => rmSync(envDir, { recursive: true, force: true }));

const REAL_SECRETS = { VOODOO_API_KEY: 'ak_real_key_for_the_test', VOODOO_WEBHOOK_SECRET: 'real-webhook-secret-for-the-test' };

/**
 * `docker-compose config` of one setup (Debian's docker-compose validates and resolves without a
 * Docker engine; .ci/run installs it). Only PATH and `env` reach it, and no .env file.
 */
async function composeConfig(
  file: string | readonly string[],
  env: Record<string, string> = {},
  profile?: string | readonly string[],
): Promise<{ code: number; output: string }> {
  const files = (typeof file === 'string' ? [file] : file).flatMap((f) => ['-f', f]);
  const profiles = (profile === undefined ? [] : typeof profile === 'string' ? [profile] : profile).flatMap((p) => ['--profile', p]);
  const args = ['--env-file', emptyEnvFile, ...files, ...profiles, 'config'];
  try {
    const { stdout } = await run('docker-compose', args, { cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 });
    return { code: 0, output: stdout };
  } catch (err) {
    const failure = err as NodeJS.ErrnoException & { code?: number | string; stdout?: string; stderr?: string };
    if (failure.code === 'ENOENT') throw new Error('docker-compose is not on PATH: install it (Debian/Ubuntu: apt-get install docker-compose)', { cause: err });
    return { code: typeof failure.code === 'number' ? failure.code : -1, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  }
}

async function resolved(file: string | readonly string[], env: Record<string, string> = {}, profiles: readonly string[] = ['monitoring']): Promise<Resolved> {
  const result = await composeConfig(file, env, profiles);
  expect(result.code, result.output).toBe(0);
  return parse(result.output) as Resolved;
}

/** Published ports as [host address, host port, container port], short or long syntax alike. */
function published(service: Service): [string, string, string][] {
  return (service.ports ?? []).map((port) => {
    if (typeof port !== 'string') return [port.host_ip ?? '0.0.0.0', String(port.published ?? ''), String(port.target ?? '')];
    const parts = port.replace(/\/tcp$/, '').split(':');
    return parts.length === 3 ? [parts[0] ?? '', parts[1] ?? '', parts[2] ?? ''] : ['0.0.0.0', parts[0] ?? '', parts[1] ?? ''];
  });
}

/** The port of the node `fetch('http://127.0.0.1:<port>/readyz')` healthcheck, or null. */
function readyzPort(service: Service): string | null {
  const test = (service.healthcheck?.test ?? []).join(' ');
  return /fetch\('http:\/\/127\.0\.0\.1:(\d+)\/readyz'\)/.exec(test)?.[1] ?? null;
}

/** What both setups promise: restart policy, init, healthchecks on /readyz, start order, pinned images, safe Redis. */
function expectSafeDefaults(config: Resolved): void {
  const { services } = config;
  for (const [name, service] of Object.entries(services)) {
    if (name === CLUSTER_CREATE) {
      expect(service.restart, name).toBe('no');
    } else {
      expect(service.restart, name).toBe('unless-stopped');
      expect(service.healthcheck?.test?.length ?? 0, `${name} healthcheck`).toBeGreaterThan(0);
    }
    for (const [dependency, how] of Object.entries(service.depends_on ?? {})) {
      expect(services[dependency], `${name} → ${dependency}`).toBeDefined();
      if (dependency === CLUSTER_CREATE) {
        expect(how.condition, `${name} → ${dependency}`).toBe('service_completed_successfully');
        continue;
      }
      expect(how.condition, `${name} → ${dependency}`).toBe('service_healthy');
      expect(services[dependency]?.healthcheck, dependency).toBeDefined();
    }
    if (service.image !== undefined) expect(service.image, name).toMatch(/:v?\d+\.\d+\.\d+(-[a-z0-9.]+)?$/);
    if (service.build !== undefined) expect(service.init, `${name} init`).toBe(true);
  }
  expect(readyzPort(services.worker ?? {})).toBe(services.worker?.environment?.METRICS_PORT);
  expect(readyzPort(services.webhook ?? {})).toBe(services.webhook?.environment?.WEBHOOK_PORT);
  expect(readyzPort(services.dashboard ?? {})).toBe(services.dashboard?.environment?.DASHBOARD_PORT);
  for (const name of ['worker', 'webhook', 'dashboard']) expect(services[name]?.depends_on?.redis?.condition, name).toBe('service_healthy');
  const redis = (services.redis?.command ?? []).join(' ');
  expect(redis).toContain('--appendonly yes');
  expect(redis).toContain('--maxmemory-policy noeviction');
  expect(services.prometheus?.profiles).toEqual(['monitoring']);
  expect(services.grafana?.profiles).toEqual(['monitoring']);
  // No login on these: loopback only.
  for (const name of ['dashboard', 'prometheus', 'grafana']) {
    const ports = published(services[name] ?? {});
    expect(ports.length, name).toBeGreaterThan(0);
    for (const [address] of ports) expect(address, name).toBe('127.0.0.1');
  }
}

describe('the default compose setup (the sandbox)', () => {
  it('is valid, with safe defaults, the sandbox and dashboard on loopback only and the receiver unpublished', async () => {
    const config = await resolved(SANDBOX_SETUP);
    expectSafeDefaults(config);
    const { services } = config;
    expect(Object.keys(services).sort()).toEqual(['dashboard', 'grafana', 'prometheus', 'redis', CLUSTER_CREATE, ...CLUSTER_NODES, 'sandbox', 'webhook', 'worker']);
    // The cluster's services only run with their profile; without the override the fleet uses `redis`.
    for (const name of [...CLUSTER_NODES, CLUSTER_CREATE]) expect(services[name]?.profiles, name).toEqual(['cluster']);
    for (const name of ['worker', 'webhook', 'dashboard']) expect(services[name]?.environment?.REDIS_CLUSTER_NODES, name).toBeUndefined();
    for (const [address] of published(services.sandbox ?? {})) expect(address).toBe('127.0.0.1');
    expect(published(services.webhook ?? {})).toEqual([]);
    expect(services.worker?.environment?.VOODOO_API_URL).toBe('http://sandbox:8090');
    expect(services.worker?.depends_on?.sandbox?.condition).toBe('service_healthy');
  });

  it('cannot be pointed at the real API or given a secret from the environment by accident', async () => {
    const config = await resolved(SANDBOX_SETUP, { VOODOO_API_URL: 'https://api.voodoo.center', ...REAL_SECRETS });
    const { services } = config;
    expect(services.worker?.environment?.VOODOO_API_URL).toBe('http://sandbox:8090');
    expect(services.worker?.environment?.VOODOO_API_KEY).not.toBe(REAL_SECRETS.VOODOO_API_KEY);
    expect(services.webhook?.environment?.VOODOO_WEBHOOK_SECRET).not.toBe(REAL_SECRETS.VOODOO_WEBHOOK_SECRET);
  });
});

describe('the real-API compose setup', () => {
  it('is valid with a key and a secret: no sandbox, the real API, the given secret, the receiver published', async () => {
    const config = await resolved(REAL_API_SETUP, REAL_SECRETS);
    expectSafeDefaults(config);
    const { services } = config;
    expect(Object.keys(services).sort()).toEqual(['dashboard', 'grafana', 'prometheus', 'redis', 'webhook', 'worker']);
    expect(services.worker?.environment?.VOODOO_API_URL).toBe('https://api.voodoo.center');
    expect(services.worker?.environment?.VOODOO_API_KEY).toBe(REAL_SECRETS.VOODOO_API_KEY);
    expect(services.webhook?.environment?.VOODOO_WEBHOOK_SECRET).toBe(REAL_SECRETS.VOODOO_WEBHOOK_SECRET);
    expect(services.worker?.depends_on?.sandbox).toBeUndefined();
    expect(published(services.webhook ?? {}).map(([, host, container]) => [host, container])).toEqual([['8080', '8080']]);
    // The dashboard stays without the key and the secret.
    expect(Object.keys(services.dashboard?.environment ?? {})).not.toContain('VOODOO_API_KEY');
    expect(Object.keys(services.dashboard?.environment ?? {})).not.toContain('VOODOO_WEBHOOK_SECRET');
  });

  it('refuses without the webhook secret, naming it: there is no fallback secret', async () => {
    const result = await composeConfig(REAL_API_SETUP, { VOODOO_API_KEY: REAL_SECRETS.VOODOO_API_KEY });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('set VOODOO_WEBHOOK_SECRET');
    const empty = await composeConfig(REAL_API_SETUP, { VOODOO_API_KEY: REAL_SECRETS.VOODOO_API_KEY, VOODOO_WEBHOOK_SECRET: '' });
    expect(empty.code).not.toBe(0);
  });

  it('refuses without the API key, naming it', async () => {
    const result = await composeConfig(REAL_API_SETUP, { VOODOO_WEBHOOK_SECRET: REAL_SECRETS.VOODOO_WEBHOOK_SECRET });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('set VOODOO_API_KEY');
  });
});

/** `--flag value` pairs of a redis-server command line. */
function serverFlags(service: Service): Map<string, string> {
  const words = service.command ?? [];
  const flags = new Map<string, string>();
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i] ?? '';
    if (word.startsWith('--')) flags.set(word, words[i + 1] ?? '');
  }
  return flags;
}

describe('the cluster compose setup (the cluster profile and docker-compose.cluster.yml)', () => {
  it('is valid: six pinned cluster-mode nodes with the safe settings, each on its own volume', async () => {
    const config = await resolved(CLUSTER_SETUP, {}, ['cluster', 'monitoring']);
    expectSafeDefaults(config);
    const { services } = config;
    const volumes = new Set<string>();
    for (const name of CLUSTER_NODES) {
      const node = services[name] ?? {};
      expect(node.image, name).toBe(services.redis?.image);
      expect(node.profiles, name).toEqual(['cluster']);
      const flags = serverFlags(node);
      expect(flags.get('--cluster-enabled'), name).toBe('yes');
      expect(flags.get('--appendonly'), name).toBe('yes');
      expect(flags.get('--maxmemory-policy'), name).toBe('noeviction');
      // Well below the ~30 s a worker's command waits for a replica to take over a dead primary.
      expect(Number(flags.get('--cluster-node-timeout')), name).toBeGreaterThan(0);
      expect(Number(flags.get('--cluster-node-timeout')), name).toBeLessThanOrEqual(10_000);
      for (const volume of (node as { volumes?: (string | { source?: string })[] }).volumes ?? []) {
        volumes.add(typeof volume === 'string' ? (volume.split(':')[0] ?? '') : (volume.source ?? ''));
      }
    }
    expect(volumes.size).toBe(CLUSTER_NODES.length);
  });

  it('creates the cluster once every node is healthy: 3 primaries + 3 replicas, unattended', async () => {
    const { services } = await resolved(CLUSTER_SETUP, {}, ['cluster']);
    const create = services[CLUSTER_CREATE] ?? {};
    expect(create.profiles).toEqual(['cluster']);
    expect(create.image).toBe(services.redis?.image);
    const script = (create.command ?? []).join(' ');
    expect(script).toContain('--cluster create');
    expect(script).toContain('--cluster-replicas 1');
    expect(script).toContain('--cluster-yes');
    expect(script).toMatch(/for n in 1 2 3 4 5 6;/);
    expect(Object.keys(create.depends_on ?? {}).sort()).toEqual(CLUSTER_NODES);
    for (const node of CLUSTER_NODES) expect(create.depends_on?.[node]?.condition, node).toBe('service_healthy');
  });

  it('runs the worker, the receiver and the dashboard on the cluster once it exists, with the same partitions', async () => {
    const { services } = await resolved(CLUSTER_SETUP, {}, ['cluster']);
    const partitions = new Set<string | undefined>();
    for (const name of ['worker', 'webhook', 'dashboard']) {
      const environment = services[name]?.environment ?? {};
      const seeds = (environment.REDIS_CLUSTER_NODES ?? '').split(',');
      expect(seeds.length, name).toBeGreaterThan(0);
      for (const seed of seeds) expect(CLUSTER_NODES.map((node) => `${node}:6379`), `${name} seed ${seed}`).toContain(seed);
      partitions.add(environment.QUEUE_PARTITIONS);
      expect(services[name]?.depends_on?.[CLUSTER_CREATE]?.condition, name).toBe('service_completed_successfully');
    }
    // One routing for every process: K the same everywhere, at least one partition per primary.
    expect(partitions.size).toBe(1);
    expect(Number([...partitions][0])).toBeGreaterThanOrEqual(3);
    // Still the sandbox, never the real API.
    expect(services.worker?.environment?.VOODOO_API_URL).toBe('http://sandbox:8090');
  });
});
