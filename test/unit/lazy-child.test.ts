import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { lazyChild } from '../../src/logging/lazy-child.js';

function capture(level: string): { lines: () => Record<string, unknown>[]; logger: ReturnType<typeof createLogger> } {
  const out: string[] = [];
  const logger = createLogger({ level, destination: { write: (line: string) => void out.push(line) } });
  return { lines: () => out.map((line) => JSON.parse(line) as Record<string, unknown>), logger };
}

describe('a lazy child logger', () => {
  it('writes lines with its bindings, like the child it stands for', () => {
    const { lines, logger } = capture('info');
    const log = lazyChild(logger, { merchant_order_id: 'm-1', job_id: 'intent-m-1' });
    log.info({ order_id: 'o-1' }, 'order placed');
    log.child({ event: 'order_placed' }).warn('nested');
    expect(lines()).toMatchObject([
      { merchant_order_id: 'm-1', job_id: 'intent-m-1', order_id: 'o-1', msg: 'order placed' },
      { merchant_order_id: 'm-1', job_id: 'intent-m-1', event: 'order_placed', msg: 'nested' },
    ]);
  });

  it('builds no child for a call at a disabled level, and writes nothing', () => {
    const { lines, logger } = capture('warn');
    let children = 0;
    const counting = new Proxy(logger, {
      get(target, key) {
        if (key === 'child') children += 1;
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const log = lazyChild(counting, { merchant_order_id: 'm-2' });
    log.debug('parking the job');
    log.info('order placed');
    expect(children).toBe(0);
    expect(lines()).toEqual([]);
    log.warn('a warning');
    expect(children).toBe(1);
    expect(lines()).toMatchObject([{ merchant_order_id: 'm-2', msg: 'a warning' }]);
  });

  it('keeps the redaction of its parent: a secret in its bindings is censored', () => {
    const { lines, logger } = capture('info');
    lazyChild(logger, { token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig' }).info('with a token bound');
    expect(JSON.stringify(lines())).not.toContain('eyJhbGciOiJIUzI1NiJ9');
  });
});
