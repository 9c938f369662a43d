import { describe, expect, it } from 'vitest';
import { createLogger, serializeError } from '../../src/logging/logger.js';

function capture(): { lines: () => Record<string, unknown>[]; logger: ReturnType<typeof createLogger> } {
  const raw: string[] = [];
  const logger = createLogger({ level: 'trace', destination: { write: (line: string) => void raw.push(line) } });
  return { logger, lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('createLogger redaction', () => {
  it('censors delivered codes however deep they are nested, arrays included', () => {
    const { logger, lines } = capture();
    logger.info({ job: { result: { order: { id: 'o1', codes: ['CODE-DEEP'] } } } }, 'deep');
    logger.info({ orders: [{ id: 'o2', codes: ['CODE-ARRAY'] }] }, 'array');
    const text = JSON.stringify(lines());
    expect(text).not.toContain('CODE-DEEP');
    expect(text).not.toContain('CODE-ARRAY');
    expect(lines()[0]).toMatchObject({ job: { result: { order: { id: 'o1', codes: '[Redacted]' } } } });
    expect(lines()[1]).toMatchObject({ orders: [{ id: 'o2', codes: '[Redacted]' }] });
  });

  it('logs an `error` field that is not an Error as it is', () => {
    const { logger, lines } = capture();
    logger.info({ error: 'OUT_OF_STOCK' }, 'failed order');
    logger.info({ error: null, err: undefined }, 'no error');
    expect(lines()[0]?.error).toBe('OUT_OF_STOCK');
    expect(lines()[1]?.error).toBeNull();
  });

  it('keeps words that merely contain ak_ (peak_rss) but hides an ak_ key', () => {
    const { logger, lines } = capture();
    logger.info({ note: 'peak_rss_bytes grew; key ak_abcdef123456' }, 'pattern');
    expect(lines()[0]?.note).toBe('peak_rss_bytes grew; key [Redacted]');
  });
});

describe('serializeError', () => {
  it('stops at a bounded depth on a circular cause chain', () => {
    const err = new Error('loop');
    Object.assign(err, { cause: err });
    let depth = 0;
    let node: unknown = serializeError(err);
    while (typeof node === 'object' && node !== null && 'cause' in node) {
      node = node.cause;
      depth += 1;
    }
    expect(depth).toBeGreaterThan(0);
    expect(depth).toBeLessThan(10);
  });

  it('copies only name, message, code and stack from a foreign error', () => {
    const foreign = Object.assign(new Error('connect ECONNREFUSED'), {
      code: 'ECONNREFUSED',
      options: { headers: { authorization: 'Bearer secret-token' } },
    });
    const out = serializeError(foreign);
    expect(Object.keys(out).sort()).toEqual(['code', 'message', 'stack', 'type']);
    expect(JSON.stringify(out)).not.toContain('secret-token');
  });
});
