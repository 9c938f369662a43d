import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { throttledWarning } from '../../src/logging/repeat-throttle.js';

function setup(windowMs = 10_000) {
  const raw: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void raw.push(line) } });
  let clock = 1_000_000;
  const warn = throttledWarning(logger, 'worker error', { windowMs, now: () => clock });
  return {
    warn,
    advance: (ms: number) => void (clock += ms),
    lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('a warning that repeats in a burst', () => {
  it('is written once at the start of the burst', () => {
    const { warn, advance, lines } = setup();
    for (let i = 0; i < 50; i += 1) {
      warn({ attempt: i });
      advance(60);
    }
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatchObject({ level: 40, msg: 'worker error', attempt: 0 });
    expect(lines()[0]).not.toHaveProperty('repeated');
  });

  it('says how many were left out on the first line after the window', () => {
    const { warn, advance, lines } = setup(1_000);
    warn({ n: 1 });
    warn({ n: 2 });
    warn({ n: 3 });
    advance(1_000);
    warn({ n: 4 });
    expect(lines().map((l) => [l.n, l.repeated])).toEqual([
      [1, undefined],
      [4, 2],
    ]);
  });

  it('writes every occurrence when they are further apart than the window', () => {
    const { warn, advance, lines } = setup(1_000);
    for (let i = 0; i < 4; i += 1) {
      warn({ n: i });
      advance(1_001);
    }
    expect(lines()).toHaveLength(4);
    expect(lines().some((l) => 'repeated' in l)).toBe(false);
  });

  it('keeps the error serialized under err', () => {
    const { warn, lines } = setup();
    warn({ err: new Error('Connection is closed.') });
    expect(lines()[0]).toMatchObject({ err: { type: 'Error', message: 'Connection is closed.' } });
  });
});

describe('two different warnings in one burst', () => {
  it('writes each error message once, whichever source repeats it, and does not swallow a different one', () => {
    const { warn, advance, lines } = setup();
    for (let i = 0; i < 10; i += 1) {
      warn({ source: 'worker', err: new Error('Connection is closed.') });
      warn({ source: 'queue order-results', err: new Error('Connection is closed.') });
      advance(100);
    }
    warn({ source: 'worker', err: new Error('Missing lock for job intent-m-1. moveToFinished') });
    expect(lines().map((l) => [l.source, (l.err as { message: string }).message])).toEqual([
      ['worker', 'Connection is closed.'],
      ['worker', 'Missing lock for job intent-m-1. moveToFinished'],
    ]);
  });
});

describe('when the caller says what makes two warnings the same kind', () => {
  it('throttles each kind apart and ignores the error message', () => {
    const raw: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void raw.push(line) } });
    const warn = throttledWarning(logger, 'bad signature', { windowMs: 10_000, now: () => 0, kindOf: (fields) => String(fields.remoteAddress) });
    for (let i = 0; i < 3; i += 1) {
      warn({ remoteAddress: '10.0.0.1' });
      warn({ remoteAddress: '10.0.0.2' });
    }
    expect(raw.map((line) => (JSON.parse(line) as { remoteAddress: string }).remoteAddress)).toEqual(['10.0.0.1', '10.0.0.2']);
  });
});
