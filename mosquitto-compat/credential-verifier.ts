/**
 * Verifies a password against a stored credential hash, with a cache so a
 * reconnect storm (a whole fleet coming back after a broker restart) does not run
 * PBKDF2/scrypt once per CONNECT.
 *
 * How the cache stays safe:
 * - Only successes are cached, so guessing passwords stays as slow as the hash.
 * - An entry holds HMAC-SHA256(per-process random key, password), never the
 *   password, and is bound to the exact stored hash string: a password change
 *   (new hash) misses the cache at once, on every node, without any event.
 * - Entries expire (ttlMs) and the LRU is bounded (max).
 * - Concurrent verifications of the same (credential, password) share one hash
 *   computation (single flight).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { verifyPassword } from '../core/auth/passwords.ts';
import { verifyMosquittoHash } from './password-hash.ts';

export interface CredentialVerifierOptions {
  ttlMs?: number;
  max?: number;
  /** the slow check; default verifyAnyHash */
  verifyHash?: (password: string | Buffer, storedHash: string) => Promise<boolean>;
}

export interface CredentialVerifier {
  /** `key` identifies the credential (its id); `storedHash` is what the database holds now. */
  verify(key: string, storedHash: string, password: string | Buffer): Promise<boolean>;
  forget(key: string): void;
  clear(): void;
}

/** A stored hash is ours ($scrypt$, core/auth/passwords.ts) or Mosquitto's ($7$, $6$, $argon2id$). */
export function verifyAnyHash(password: string | Buffer, storedHash: string): Promise<boolean> {
  if (!storedHash.startsWith('$scrypt$')) return verifyMosquittoHash(password, storedHash);
  return verifyPassword(typeof password === 'string' ? password : password.toString('utf8'), storedHash);
}

export function createCredentialVerifier(opts: CredentialVerifierOptions = {}): CredentialVerifier {
  const hmacKey = randomBytes(32);
  const cache = new LRUCache<string, { storedHash: string; digest: Buffer }>({
    max: opts.max ?? 10_000,
    ttl: opts.ttlMs ?? 10 * 60_000,
  });
  const inflight = new Map<string, Promise<boolean>>();
  const slowVerify = opts.verifyHash ?? verifyAnyHash;
  const digestOf = (password: string | Buffer) =>
    createHmac('sha256', hmacKey).update(typeof password === 'string' ? Buffer.from(password, 'utf8') : password).digest();

  return {
    async verify(key, storedHash, password) {
      const digest = digestOf(password);
      const hit = cache.get(key);
      if (hit && hit.storedHash === storedHash && timingSafeEqual(hit.digest, digest)) return true;
      const flightKey = `${key}\u0000${storedHash}\u0000${digest.toString('base64')}`;
      let flight = inflight.get(flightKey);
      if (!flight) {
        flight = slowVerify(password, storedHash).finally(() => inflight.delete(flightKey));
        inflight.set(flightKey, flight);
      }
      const ok = await flight;
      if (ok) cache.set(key, { storedHash, digest });
      return ok;
    },
    forget: (key) => {
      cache.delete(key);
    },
    clear: () => cache.clear(),
  };
}
