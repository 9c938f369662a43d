/**
 * The `exp` claim of a JWT, as epoch milliseconds, or undefined when the token is not a JWT or has
 * no usable `exp`. The signature is not checked: the API does not document the token's format, so
 * the claim is only a hint for when to exchange again (a 401 still triggers a re-exchange).
 */
export function jwtExpiryMs(token: string): number | undefined {
  const parts = token.split('.');
  const payload = parts[1];
  if (parts.length !== 3 || payload === undefined || payload === '') return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof claims !== 'object' || claims === null) return undefined;
  const exp: unknown = (claims as Record<string, unknown>).exp;
  // exp is NumericDate: seconds since the epoch.
  if (typeof exp !== 'number' || !Number.isFinite(exp) || exp <= 0) return undefined;
  return exp * 1000;
}

/**
 * When an access token expires, epoch ms: its JWT `exp` claim when present, else `nowMs + fallbackTtlMs`
 * (the API documents a 2 h lifetime but no `expires_in`).
 */
export function accessTokenExpiresAt(token: string, nowMs: number, fallbackTtlMs: number): number {
  return jwtExpiryMs(token) ?? nowMs + fallbackTtlMs;
}
