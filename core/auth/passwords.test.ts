import { describe, expect, it } from 'vitest';
import {
  createDummyHash,
  hashPassword,
  OWASP_SCRYPT_PARAMS,
  parsePasswordHash,
  TEST_SCRYPT_PARAMS,
  verifyPassword,
} from './passwords.ts';

describe('passwords', () => {
  it('stores the OWASP parameters, a 16-byte salt and a 32-byte key with the hash', async () => {
    const stored = await hashPassword('correct horse battery', OWASP_SCRYPT_PARAMS);
    expect(stored).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    const parsed = parsePasswordHash(stored);
    expect(parsed?.salt.length).toBe(16);
    expect(parsed?.key.length).toBe(32);
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
  });

  it('defaults to the OWASP cost', async () => {
    expect((await hashPassword('some password')).startsWith('$scrypt$ln=17,r=8,p=1$')).toBe(true);
  });

  it('refuses a wrong password and verifies with the stored (lower) parameters', async () => {
    const stored = await hashPassword('s3cret-pass', TEST_SCRYPT_PARAMS);
    expect(stored.startsWith('$scrypt$ln=10,r=8,p=1$')).toBe(true);
    expect(await verifyPassword('s3cret-pass', stored)).toBe(true);
    expect(await verifyPassword('s3cret-pasS', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('salts every hash', async () => {
    const a = await hashPassword('same password', TEST_SCRYPT_PARAMS);
    const b = await hashPassword('same password', TEST_SCRYPT_PARAMS);
    expect(a).not.toBe(b);
  });

  it('never matches a malformed or absurd stored hash', async () => {
    expect(await verifyPassword('x', '')).toBe(false);
    expect(await verifyPassword('x', 'plaintext')).toBe(false);
    expect(await verifyPassword('x', '$scrypt$ln=40,r=8,p=1$AAAA$AAAA')).toBe(false);
  });

  it('has a dummy hash that no ordinary password matches', async () => {
    const dummy = await createDummyHash(TEST_SCRYPT_PARAMS);
    expect(parsePasswordHash(dummy)).not.toBeNull();
    expect(await verifyPassword('password', dummy)).toBe(false);
  });
});
