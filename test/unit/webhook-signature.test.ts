import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhookSignature } from '../../src/webhook/signature.js';

/**
 * Known answers computed outside the project, so signing and verifying are not only checked
 * against each other. Each hex is what
 *   printf '%s' '<body>' | openssl dgst -sha256 -hmac '<secret>'
 * printed (OpenSSL 3.0.19); the body is passed as its UTF-8 bytes.
 */
const VECTORS = [
  {
    what: 'a webhook body with a non-ASCII character (signed as UTF-8 bytes)',
    secret: 'whsec_kat_0123456789abcdef',
    body:
      '{"codes":["KEY-AAAA-1111-ZZZZ"],"item_name":"Carte cadeau 10 €","merchant_order_id":"mo-kat-1",' +
      '"order_id":"5b0c7a8e-1f0e-4f43-9d55-2a0a3c1e9b01","status":"completed","total_price":9}',
    hex: '35247cac2859141131388946d5e85bf4bdef74c7bb5d133da09101c1233d70b9',
  },
  {
    // Also RFC 4231, test case 2 (HMAC-SHA-256).
    what: 'RFC 4231 test case 2',
    secret: 'Jefe',
    body: 'what do ya want for nothing?',
    hex: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  },
] as const;

/** `bytes` with the byte at `index` changed by one bit. */
function flipped(bytes: Buffer, index: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
}

describe('webhook signature known answers', () => {
  describe.each(VECTORS)('$what', ({ secret, body, hex }) => {
    const bytes = Buffer.from(body, 'utf8');

    it('signs to the known answer, from a string or from the raw bytes', () => {
      expect(signWebhook(secret, body)).toBe(`sha256=${hex}`);
      expect(signWebhook(secret, bytes)).toBe(`sha256=${hex}`);
    });

    it('verifies the known answer, in either case of hex', () => {
      expect(verifyWebhookSignature(secret, bytes, `sha256=${hex}`)).toBe(true);
      expect(verifyWebhookSignature(secret, bytes, `sha256=${hex.toUpperCase()}`)).toBe(true);
    });

    it('refuses the known answer once one byte of the body, the secret or the signature changes', () => {
      for (const index of [0, Math.floor(bytes.length / 2), bytes.length - 1]) {
        expect(verifyWebhookSignature(secret, flipped(bytes, index), `sha256=${hex}`)).toBe(false);
      }
      expect(verifyWebhookSignature(flipped(Buffer.from(secret), 0).toString('latin1'), bytes, `sha256=${hex}`)).toBe(false);
      const lastDigit = hex.at(-1) === '0' ? '1' : '0';
      expect(verifyWebhookSignature(secret, bytes, `sha256=${hex.slice(0, -1)}${lastDigit}`)).toBe(false);
    });
  });
});
