import { describe, expect, it } from 'vitest';
import { loadConfig, requireSetting } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors/errors.js';

describe('loadConfig', () => {
  it('fills every default when the environment is empty', () => {
    const config = loadConfig({});
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.QUEUE_PREFIX).toBe('bull');
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

  describe('requireSetting', () => {
    it('names the variable a process needs but does not have', () => {
      expect(() => requireSetting(loadConfig({}), 'VOODOO_API_KEY')).toThrow('VOODOO_API_KEY: is required by this process');
    });
    it('returns the value when set', () => {
      expect(requireSetting(loadConfig({ VOODOO_API_KEY: 'ak_abc' }), 'VOODOO_API_KEY')).toBe('ak_abc');
    });
  });
});
