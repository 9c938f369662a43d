import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

/** Options of {@link AccessTokens}. */
export interface AccessTokensOptions {
  /** The one valid `ak_` key. */
  apiKey: string;
  /** Lifetime of an issued token, in ms. */
  ttlMs: number;
  /** Clock, epoch ms. */
  now: () => number;
}

/** What an exchange attempt came to. */
export type ExchangeResult = { ok: true; token: string } | { ok: false; reason: 'invalid_credentials' | 'auth_disabled' };

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * The sandbox's credentials: the API key (revocable) and the access tokens issued for it.
 * Tokens are JWT-shaped (header.payload.signature, with `exp` in seconds) so clients can read the
 * expiry as they would from the real API; the signature is random because only this process
 * checks tokens, by looking them up.
 */
export class AccessTokens {
  private readonly keyDigest: Buffer;
  private revoked = false;
  private authDisabled = false;
  /** token -> expiry, epoch ms. */
  private readonly issued = new Map<string, number>();

  constructor(private readonly options: AccessTokensOptions) {
    this.keyDigest = digest(options.apiKey);
  }

  /** Exchange an API key for a token. Compares digests in constant time so timing reveals nothing about the key. */
  exchange(apiKey: string): ExchangeResult {
    if (this.authDisabled) return { ok: false, reason: 'auth_disabled' };
    if (this.revoked || !timingSafeEqual(digest(apiKey), this.keyDigest)) return { ok: false, reason: 'invalid_credentials' };
    const now = this.options.now();
    this.forgetExpired(now);
    const expiresAtMs = now + this.options.ttlMs;
    const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const payload = base64url(
      JSON.stringify({ sub: 'sandbox-account', iat: Math.floor(now / 1000), exp: Math.floor(expiresAtMs / 1000), jti: randomUUID() }),
    );
    const token = `${header}.${payload}.${base64url(randomBytes(32))}`;
    this.issued.set(token, expiresAtMs);
    return { ok: true, token };
  }

  /** True when `token` was issued here and has not expired. Revoking the key does not end it. */
  isValid(token: string): boolean {
    const expiresAtMs = this.issued.get(token);
    return expiresAtMs !== undefined && this.options.now() < expiresAtMs;
  }

  /** New exchanges answer 401 from now on. */
  revokeKey(): void {
    this.revoked = true;
  }

  /** Simulate an account without API-key auth: exchanges answer 403. */
  setAuthDisabled(disabled: boolean): void {
    this.authDisabled = disabled;
  }

  private forgetExpired(now: number): void {
    for (const [token, expiresAtMs] of this.issued) {
      if (expiresAtMs <= now) this.issued.delete(token);
    }
  }
}
