import { describe, expect, it } from 'vitest';
import { accessTokenExpiresAt, jwtExpiryMs } from '../../src/api/jwt-expiry.js';

function jwt(payload: unknown): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}.c2lnbmF0dXJl`;
}

describe('jwtExpiryMs', () => {
  it('reads the exp claim (seconds) as epoch milliseconds', () => {
    expect(jwtExpiryMs(jwt({ sub: 'x', exp: 1_900_000_000 }))).toBe(1_900_000_000_000);
  });

  it('decodes base64url payloads that use - and _', () => {
    // A claim value chosen so the encoded payload contains URL-safe characters.
    const token = jwt({ exp: 1_800_000_000, note: '>>>???' });
    expect(token.split('.')[1]).toMatch(/[-_]/);
    expect(jwtExpiryMs(token)).toBe(1_800_000_000_000);
  });

  it.each([
    ['an opaque token', 'not-a-jwt'],
    ['a payload that is not JSON', 'aGVhZGVy.bm90IGpzb24.c2ln'],
    ['a payload without exp', jwt({ sub: 'x' })],
    ['a string exp', jwt({ exp: '1900000000' })],
    ['a negative exp', jwt({ exp: -5 })],
    ['a JSON array payload', jwt([1, 2])],
    ['an empty payload segment', 'aGVhZGVy..c2ln'],
  ])('returns undefined for %s', (_label, token) => {
    expect(jwtExpiryMs(token)).toBeUndefined();
  });
});

describe('accessTokenExpiresAt', () => {
  it('prefers the exp claim over the fallback lifetime', () => {
    expect(accessTokenExpiresAt(jwt({ exp: 2_000 }), 1_000_000, 7_200_000)).toBe(2_000_000);
  });

  it('falls back to now + the assumed lifetime when there is no exp', () => {
    expect(accessTokenExpiresAt('opaque', 1_000_000, 7_200_000)).toBe(8_200_000);
  });
});
