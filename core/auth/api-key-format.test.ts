import { describe, expect, it } from 'vitest';
import {
  apiKeyChecksum,
  apiKeyDisplayPrefix,
  generateApiKeySecret,
  hashApiKeySecret,
  isWellFormedApiKey,
  looksLikeApiKey,
} from './api-key-format.ts';

describe('API key format', () => {
  it('is dakkio_ + 26 random [a-z0-9] + a 6-character checksum', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const secret = generateApiKeySecret();
      expect(secret).toMatch(/^dakkio_[a-z0-9]{32}$/);
      expect(secret.slice(33)).toBe(apiKeyChecksum(secret.slice(7, 33)));
      expect(isWellFormedApiKey(secret)).toBe(true);
      seen.add(secret);
    }
    expect(seen.size).toBe(200);
  });

  it('documents the checksum: CRC-32 mod 36^6 in base 36, zero-padded', () => {
    // zlib CRC-32 of "abcdefghijklmnopqrstuvwxyz" is 0x4c2750bd.
    expect(apiKeyChecksum('abcdefghijklmnopqrstuvwxyz')).toBe((0x4c2750bd % 36 ** 6).toString(36).padStart(6, '0'));
  });

  it('refuses a mistyped character, a wrong checksum and the wrong shape', () => {
    const secret = generateApiKeySecret();
    const c = secret[10] === 'a' ? 'b' : 'a';
    expect(isWellFormedApiKey(`${secret.slice(0, 10)}${c}${secret.slice(11)}`)).toBe(false);
    expect(isWellFormedApiKey(`${secret.slice(0, -1)}${secret.endsWith('0') ? '1' : '0'}`)).toBe(false);
    expect(isWellFormedApiKey(secret.toUpperCase())).toBe(false);
    expect(isWellFormedApiKey(`${secret}x`)).toBe(false);
    expect(isWellFormedApiKey('dakkio_')).toBe(false);
  });

  it('recognises anything that starts with dakkio_ as an attempted key', () => {
    expect(looksLikeApiKey('dakkio_whatever')).toBe(true);
    expect(looksLikeApiKey('eyJhbGciOiJIUzI1NiJ9.x.y')).toBe(false);
  });

  it('stores SHA-256 hex and shows a short prefix', () => {
    const secret = generateApiKeySecret();
    expect(hashApiKeySecret(secret)).toMatch(/^[0-9a-f]{64}$/);
    expect(apiKeyDisplayPrefix(secret)).toBe(secret.slice(0, 13));
  });
});
