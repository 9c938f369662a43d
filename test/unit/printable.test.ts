import { describe, expect, it } from 'vitest';
import { printable } from '../../src/text/printable.js';

describe('printing an untrusted id on a terminal', () => {
  it('leaves ordinary text alone, accents and emoji included', () => {
    expect(printable('shop-1001 café ☕ 注文')).toBe('shop-1001 café ☕ 注文');
  });

  it('writes line breaks, tabs and escape sequences as escapes', () => {
    expect(printable('a\nb\rc\td\u001b[31m\u0000')).toBe('a\\nb\\rc\\td\\u001b[31m\\u0000');
  });

  it('escapes C1 controls, line separators and bidirectional overrides', () => {
    expect(printable('\u0085\u2028\u2029\u202e\u2066x')).toBe('\\u0085\\u2028\\u2029\\u202e\\u2066x');
  });

  it('doubles backslashes, so an escape in the output always stands for one character of the input', () => {
    expect(printable('a\\nb')).toBe('a\\\\nb');
    expect(printable('a\\nb')).not.toBe(printable('a\nb'));
  });
});
