import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors/errors.js';
import { redisTargetOf } from '../../src/redis/redis-target.js';

const SEEDS = '10.0.0.5:7000,10.0.0.6:7000';
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const dir = mkdtempSync(join(tmpdir(), 'voodoo-tls-config-'));
const caFile = join(dir, 'ca.pem');
const notPem = join(dir, 'not.pem');

beforeAll(() => {
  writeFileSync(caFile, PEM);
  writeFileSync(notPem, 'hello');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('REDIS_CLUSTER_TLS', () => {
  it('is off by default: the cluster target carries no TLS', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: SEEDS });
    expect(config.REDIS_CLUSTER_TLS).toBe(false);
    expect(redisTargetOf(config)).not.toHaveProperty('tls');
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('reads %s as %s', (value, on) => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: SEEDS, REDIS_CLUSTER_TLS: value });
    expect(config.REDIS_CLUSTER_TLS).toBe(on);
    const target = redisTargetOf(config);
    if (on) expect(target).toMatchObject({ kind: 'cluster', tls: {} });
    else expect(target).not.toHaveProperty('tls');
  });

  it('refuses a value that is no boolean, naming the variable', () => {
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: SEEDS, REDIS_CLUSTER_TLS: 'maybe' })).toThrow(/^REDIS_CLUSTER_TLS: expected true or false/);
  });

  it('refuses it without REDIS_CLUSTER_NODES (a single Redis takes rediss://)', () => {
    expect(() => loadConfig({ REDIS_CLUSTER_TLS: 'true' })).toThrow(/^REDIS_CLUSTER_TLS: only read with REDIS_CLUSTER_NODES/);
  });
});

describe('REDIS_CLUSTER_TLS_CA_FILE', () => {
  describe('when it names a readable PEM bundle', () => {
    it('reads it once into the target’s TLS options', () => {
      const config = loadConfig({ REDIS_CLUSTER_NODES: SEEDS, REDIS_CLUSTER_TLS: 'true', REDIS_CLUSTER_TLS_CA_FILE: caFile });
      expect(redisTargetOf(config)).toMatchObject({ kind: 'cluster', tls: { ca: PEM } });
    });
  });

  it.each([
    [join(dir, 'missing.pem'), /^REDIS_CLUSTER_TLS_CA_FILE: cannot read .*missing\.pem \(ENOENT\)/],
    [dir, /^REDIS_CLUSTER_TLS_CA_FILE: cannot read .* \(EISDIR\)/],
    [notPem, /^REDIS_CLUSTER_TLS_CA_FILE: expected a PEM CA bundle/],
  ])('refuses %s, naming the variable', (path, message) => {
    const load = (): unknown => loadConfig({ REDIS_CLUSTER_NODES: SEEDS, REDIS_CLUSTER_TLS: 'true', REDIS_CLUSTER_TLS_CA_FILE: path });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(message);
  });

  it('refuses it without REDIS_CLUSTER_TLS', () => {
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: SEEDS, REDIS_CLUSTER_TLS_CA_FILE: caFile })).toThrow(/^REDIS_CLUSTER_TLS_CA_FILE: only read with REDIS_CLUSTER_TLS=true/);
  });
});
