import { describe, expect, it } from 'vitest';
import { checkWorkerConfig, ledgerRetention, loadConfig, requireSetting, spendLimit, type ConfigWarning } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors/errors.js';

describe('loadConfig', () => {
  it('fills every default when the environment is empty', () => {
    const config = loadConfig({});
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.QUEUE_PREFIX).toBe('bull');
    expect(config.QUEUE_PARTITIONS).toBe(1);
    expect(config.VOODOO_API_URL).toBe('https://api.voodoo.center');
    expect(config.HTTP_TIMEOUT_MS).toBe(10_000);
    expect(config.VOODOO_API_KEY).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('coerces numbers and booleans from strings', () => {
    const config = loadConfig({ WORKER_CONCURRENCY: '7', LOG_PRETTY: 'true', WEBHOOK_PORT: '9000' });
    expect(config.WORKER_CONCURRENCY).toBe(7);
    expect(config.LOG_PRETTY).toBe(true);
    expect(config.WEBHOOK_PORT).toBe(9000);
  });

  it('treats an empty string as unset', () => {
    expect(loadConfig({ QUEUE_PREFIX: '' }).QUEUE_PREFIX).toBe('bull');
  });

  it.each([
    ['WORKER_CONCURRENCY', 'lots', /WORKER_CONCURRENCY: expected a whole number/],
    ['WORKER_CONCURRENCY', '0', /WORKER_CONCURRENCY: expected at least 1/],
    ['HTTP_TIMEOUT_MS', '60000', /HTTP_TIMEOUT_MS: expected at most 25000/],
    ['REDIS_URL', 'http://x', /REDIS_URL: expected a redis: or rediss: URL/],
    ['VOODOO_API_KEY', 'secret', /VOODOO_API_KEY: expected an API key starting with ak_/],
    ['LOG_PRETTY', 'maybe', /LOG_PRETTY: expected true or false/],
    ['QUEUE_PREFIX', 'has:colon', /QUEUE_PREFIX/],
    // The partition layout adds the hash-tag braces itself: a prefix carrying its own would move them.
    ['QUEUE_PREFIX', '{bull}', /QUEUE_PREFIX/],
    ['QUEUE_PARTITIONS', '0', /QUEUE_PARTITIONS: expected at least 1/],
    ['QUEUE_PARTITIONS', '1025', /QUEUE_PARTITIONS: expected at most 1024/],
    ['QUEUE_PARTITIONS', '2.5', /QUEUE_PARTITIONS: expected a whole number/],
  ])('rejects %s=%s with a message naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(message);
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe(name);
      expect((err as ConfigError).code).toBe('config_invalid');
    }
  });

  it('rejects an HTTP timeout that is not under the job lock', () => {
    expect(() => loadConfig({ WORKER_LOCK_MS: '5000', HTTP_TIMEOUT_MS: '5000' })).toThrow('HTTP_TIMEOUT_MS: expected less than WORKER_LOCK_MS');
  });

  it('rejects an initial poll delay above the maximum', () => {
    expect(() => loadConfig({ POLL_INITIAL_DELAY_MS: '5000', POLL_MAX_DELAY_MS: '1000' })).toThrow(/POLL_INITIAL_DELAY_MS/);
  });

  it('rejects a first retry delay above the maximum', () => {
    expect(() => loadConfig({ RETRY_BASE_DELAY_MS: '5000', RETRY_MAX_DELAY_MS: '1000' })).toThrow('RETRY_BASE_DELAY_MS: expected at most RETRY_MAX_DELAY_MS');
  });

  describe('RESOLVE_TIMEOUT_MS and its deprecated name POLL_TIMEOUT_MS', () => {
    const load = (env: Record<string, string>): { timeout: number; warnings: ConfigWarning[] } => {
      const warnings: ConfigWarning[] = [];
      const config = loadConfig(env, (w) => warnings.push(w));
      return { timeout: config.RESOLVE_TIMEOUT_MS, warnings };
    };

    it('reads RESOLVE_TIMEOUT_MS without a warning', () => {
      expect(load({ RESOLVE_TIMEOUT_MS: '90000' })).toEqual({ timeout: 90_000, warnings: [] });
      expect(load({})).toEqual({ timeout: 2 * 60 * 60 * 1000, warnings: [] });
    });

    it('reads POLL_TIMEOUT_MS when RESOLVE_TIMEOUT_MS is unset, with one warning naming both', () => {
      const { timeout, warnings } = load({ POLL_TIMEOUT_MS: '90000' });
      expect(timeout).toBe(90_000);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ variable: 'POLL_TIMEOUT_MS', replacement: 'RESOLVE_TIMEOUT_MS' });
      expect(warnings[0]?.message).toMatch(/POLL_TIMEOUT_MS.*RESOLVE_TIMEOUT_MS/);
      expect(loadConfig({ POLL_TIMEOUT_MS: '90000' }).RESOLVE_TIMEOUT_MS).toBe(90_000);
    });

    it('treats an empty POLL_TIMEOUT_MS as unset', () => {
      expect(load({ POLL_TIMEOUT_MS: '', RESOLVE_TIMEOUT_MS: '90000' })).toEqual({ timeout: 90_000, warnings: [] });
    });

    it('refuses both names at once, naming POLL_TIMEOUT_MS', () => {
      const warnings: ConfigWarning[] = [];
      let thrown: unknown;
      try {
        loadConfig({ POLL_TIMEOUT_MS: '90000', RESOLVE_TIMEOUT_MS: '90000' }, (w) => warnings.push(w));
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).variable).toBe('POLL_TIMEOUT_MS');
      expect((thrown as ConfigError).message).toMatch(/^POLL_TIMEOUT_MS: .*RESOLVE_TIMEOUT_MS/);
      expect(warnings).toEqual([]);
    });

    it('names POLL_TIMEOUT_MS when its value is bad', () => {
      expect(() => loadConfig({ POLL_TIMEOUT_MS: 'soon' })).toThrow('POLL_TIMEOUT_MS: expected a whole number');
      expect(() => loadConfig({ RESOLVE_TIMEOUT_MS: '5' })).toThrow('RESOLVE_TIMEOUT_MS: expected at least 1000');
    });
  });

  describe('requireSetting', () => {
    it('names the variable a process needs but does not have', () => {
      expect(() => requireSetting(loadConfig({}), 'VOODOO_API_KEY')).toThrow('VOODOO_API_KEY: is required by this process');
    });
    it('returns the value when set', () => {
      expect(requireSetting(loadConfig({ VOODOO_API_KEY: 'ak_abc' }), 'VOODOO_API_KEY')).toBe('ak_abc');
    });
  });

  describe('SPEND_LIMIT', () => {
    it('is off by default', () => {
      expect(spendLimit(loadConfig({}))).toEqual({});
    });
    it('takes a positive amount and a window', () => {
      expect(spendLimit(loadConfig({ SPEND_LIMIT: '250.5', SPEND_WINDOW_MS: '60000' }))).toEqual({ spendLimit: { limit: 250.5, windowMs: 60_000 } });
    });
    it('names the variable for a bad amount', () => {
      expect(() => loadConfig({ SPEND_LIMIT: '0' })).toThrow('SPEND_LIMIT: expected a positive amount');
      expect(() => loadConfig({ SPEND_LIMIT: 'lots' })).toThrow('SPEND_LIMIT: expected a number');
    });
    it('stops a worker without CATALOG_PATH, naming SPEND_LIMIT', () => {
      expect(() => checkWorkerConfig(loadConfig({ SPEND_LIMIT: '100' }))).toThrow(/^SPEND_LIMIT: needs CATALOG_PATH/);
      expect(() => checkWorkerConfig(loadConfig({ SPEND_LIMIT: '100', CATALOG_PATH: '/x/catalog.lmdb.zst' }))).not.toThrow();
    });
  });

  describe('retention of tombstones and unmatched events', () => {
    const DAY = 24 * 60 * 60;

    it('keeps tombstones 30 days and unmatched events 3 days by default, within the 7-day retention', () => {
      const config = loadConfig({});
      expect(ledgerRetention(config)).toEqual({ retentionSeconds: 7 * DAY, tombstoneTtlSeconds: 30 * DAY, unmatchedEventTtlSeconds: 3 * DAY });
    });

    it('takes values set within the bounds', () => {
      const config = loadConfig({ RETENTION_SECONDS: '3600', TOMBSTONE_TTL_SECONDS: '3600', UNMATCHED_EVENT_TTL_SECONDS: '3600' });
      expect(ledgerRetention(config)).toEqual({ retentionSeconds: 3600, tombstoneTtlSeconds: 3600, unmatchedEventTtlSeconds: 3600 });
    });

    it('refuses a tombstone TTL shorter than RETENTION_SECONDS, naming TOMBSTONE_TTL_SECONDS', () => {
      let thrown: unknown;
      try {
        loadConfig({ RETENTION_SECONDS: '7200', TOMBSTONE_TTL_SECONDS: '3600' });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).variable).toBe('TOMBSTONE_TTL_SECONDS');
      expect((thrown as ConfigError).message).toMatch(/^TOMBSTONE_TTL_SECONDS: expected at least RETENTION_SECONDS \(7200\)/);
    });

    it('refuses an unmatched-event TTL longer than RETENTION_SECONDS, naming UNMATCHED_EVENT_TTL_SECONDS', () => {
      let thrown: unknown;
      try {
        loadConfig({ RETENTION_SECONDS: '3600', UNMATCHED_EVENT_TTL_SECONDS: '7200' });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).variable).toBe('UNMATCHED_EVENT_TTL_SECONDS');
      expect((thrown as ConfigError).message).toMatch(/^UNMATCHED_EVENT_TTL_SECONDS: expected at most RETENTION_SECONDS \(3600\)/);
    });

    it('moves an unset TTL to RETENTION_SECONDS when its default would break the bound', () => {
      expect(ledgerRetention(loadConfig({ RETENTION_SECONDS: String(60 * DAY) }))).toEqual({
        retentionSeconds: 60 * DAY,
        tombstoneTtlSeconds: 60 * DAY,
        unmatchedEventTtlSeconds: 3 * DAY,
      });
      expect(ledgerRetention(loadConfig({ RETENTION_SECONDS: '3600' }))).toEqual({
        retentionSeconds: 3600,
        tombstoneTtlSeconds: 30 * DAY,
        unmatchedEventTtlSeconds: 3600,
      });
    });

    it.each(['TOMBSTONE_TTL_SECONDS', 'UNMATCHED_EVENT_TTL_SECONDS'])('names %s for a value that is no whole number of at least 60', (name) => {
      expect(() => loadConfig({ [name]: 'forever' })).toThrow(`${name}: expected a whole number`);
      expect(() => loadConfig({ [name]: '59' })).toThrow(`${name}: expected at least 60`);
    });
  });

  describe('URLs', () => {
    it('names the variable of a value that is no URL at all (not a bare "Invalid URL")', () => {
      expect(() => loadConfig({ REDIS_URL: 'not-a-url' })).toThrow(/^REDIS_URL: expected a URL$/);
      expect(() => loadConfig({ VOODOO_API_URL: 'not-a-url' })).toThrow(/^VOODOO_API_URL: expected a URL$/);
    });
    it('refuses a URL without a host instead of connecting to localhost', () => {
      expect(() => loadConfig({ REDIS_URL: 'redis://' })).toThrow('REDIS_URL: expected a host, e.g. redis://host:port');
      expect(() => loadConfig({ REDIS_URL: 'redis:///0' })).toThrow(/^REDIS_URL: expected a host/);
      expect(() => loadConfig({ VOODOO_API_URL: 'http://' })).toThrow(/^VOODOO_API_URL: expected/);
    });
    it('names the variable of a URL with the wrong protocol', () => {
      expect(() => loadConfig({ REDIS_URL: 'http://127.0.0.1:6379' })).toThrow('REDIS_URL: expected a redis: or rediss: URL');
    });
  });
});
