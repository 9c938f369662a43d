import { describe, expect, it } from 'vitest';
import { hashSlot } from '../../src/redis/hash-slot.js';

describe('when a key is hashed to its Redis Cluster slot', () => {
  it('matches the slots Redis gives (CLUSTER KEYSLOT)', () => {
    expect(hashSlot('foo')).toBe(12182);
    expect(hashSlot('bar')).toBe(5061);
    expect(hashSlot('123456789')).toBe(0x31c3 % 16384);
  });

  it('hashes only the hash tag when the key has a non-empty one', () => {
    expect(hashSlot('{user1000}.following')).toBe(hashSlot('user1000'));
    expect(hashSlot('{bull-3}:order-intents:wait')).toBe(hashSlot('{bull-3}:vf:order:x'));
  });

  it('hashes the whole key when its braces are empty or unclosed', () => {
    expect(hashSlot('foo{}{bar}')).not.toBe(hashSlot('bar'));
    expect(hashSlot('{foo')).not.toBe(hashSlot('foo'));
  });
});
