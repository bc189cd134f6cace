/**
 * Mosquitto password hashes, verified as Mosquitto 2.x does (src/password_mosq.c,
 * src/security_default.c unpwd__decode_passwords):
 *   $7$<iterations>$<salt b64>$<hash b64>  PBKDF2-HMAC-SHA512(password, salt, iterations, 64)
 *   $6$<salt b64>$<hash b64>               SHA-512(password || salt)
 * with a 12-byte salt and a 64-byte hash in standard (padded) base64, and the
 * `$argon2id$…` PHC strings of Mosquitto 2.1, verified with @node-rs/argon2.
 */
import { createHash, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { verify as argon2Verify } from '@node-rs/argon2';

const pbkdf2Async = promisify(pbkdf2);

export const MOSQUITTO_SALT_BYTES = 12;
export const MOSQUITTO_HASH_BYTES = 64;
/** Refuse absurd iteration counts in imported hashes: one login must not pin a CPU for minutes. */
export const MAX_PBKDF2_ITERATIONS = 10_000_000;
/** What dakkio uses when it writes a $7$ hash itself (OWASP 2023 figure for PBKDF2-HMAC-SHA512). */
export const DEFAULT_PBKDF2_ITERATIONS = 210_000;

export type MosquittoHash =
  | { kind: 'sha512-pbkdf2'; iterations: number; salt: Buffer; hash: Buffer }
  | { kind: 'sha512'; salt: Buffer; hash: Buffer }
  | { kind: 'argon2id'; encoded: string };

export type ParseHashResult = { ok: true; value: MosquittoHash } | { ok: false; reason: string };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ARGON2ID = /^\$argon2id\$v=19\$m=\d{1,10},t=\d{1,10},p=\d{1,3}\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/;

function decodeExact(b64: string, bytes: number, what: string): Buffer | string {
  if (!BASE64.test(b64)) return `${what} is not valid base64`;
  const buf = Buffer.from(b64, 'base64');
  if (buf.length !== bytes) return `${what} must be ${bytes} bytes, got ${buf.length}`;
  return buf;
}

/** Parses one stored hash (the part after `username:`). Never throws. */
export function parseMosquittoHash(stored: string): ParseHashResult {
  if (stored.startsWith('$argon2id$')) {
    return ARGON2ID.test(stored)
      ? { ok: true, value: { kind: 'argon2id', encoded: stored } }
      : { ok: false, reason: 'malformed $argon2id$ hash' };
  }
  if (stored.startsWith('$argon2')) return { ok: false, reason: 'only the argon2id variant is supported' };
  const parts = stored.split('$');
  if (parts[0] !== '' || parts.length < 2) {
    return { ok: false, reason: 'not a hashed password (plain text? run mosquitto_passwd -U on the file first)' };
  }
  const type = parts[1];
  if (type === '7') {
    if (parts.length !== 5) return { ok: false, reason: 'a $7$ hash has the form $7$<iterations>$<salt>$<hash>' };
    const itText = parts[2] ?? '';
    if (!/^[0-9]{1,9}$/.test(itText)) return { ok: false, reason: 'iterations must be a positive integer' };
    const iterations = Number(itText);
    if (iterations < 1) return { ok: false, reason: 'iterations must be at least 1' };
    if (iterations > MAX_PBKDF2_ITERATIONS) {
      return { ok: false, reason: `iterations above ${MAX_PBKDF2_ITERATIONS} are refused` };
    }
    const salt = decodeExact(parts[3] ?? '', MOSQUITTO_SALT_BYTES, 'salt');
    if (typeof salt === 'string') return { ok: false, reason: salt };
    const hash = decodeExact(parts[4] ?? '', MOSQUITTO_HASH_BYTES, 'hash');
    if (typeof hash === 'string') return { ok: false, reason: hash };
    return { ok: true, value: { kind: 'sha512-pbkdf2', iterations, salt, hash } };
  }
  if (type === '6') {
    if (parts.length !== 4) return { ok: false, reason: 'a $6$ hash has the form $6$<salt>$<hash>' };
    const salt = decodeExact(parts[2] ?? '', MOSQUITTO_SALT_BYTES, 'salt');
    if (typeof salt === 'string') return { ok: false, reason: salt };
    const hash = decodeExact(parts[3] ?? '', MOSQUITTO_HASH_BYTES, 'hash');
    if (typeof hash === 'string') return { ok: false, reason: hash };
    return { ok: true, value: { kind: 'sha512', salt, hash } };
  }
  return { ok: false, reason: `unknown hash type $${type}$ (Mosquitto knows $6$, $7$ and $argon2id$)` };
}

export const isMosquittoHash = (stored: string): boolean => parseMosquittoHash(stored).ok;

async function verifyParsed(password: string | Buffer, h: MosquittoHash): Promise<boolean> {
  const pw = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  if (h.kind === 'argon2id') {
    try {
      return await argon2Verify(h.encoded, pw);
    } catch {
      return false;
    }
  }
  const computed =
    h.kind === 'sha512-pbkdf2'
      ? await pbkdf2Async(pw, h.salt, h.iterations, MOSQUITTO_HASH_BYTES, 'sha512')
      : createHash('sha512').update(pw).update(h.salt).digest();
  return timingSafeEqual(computed, h.hash);
}

/**
 * Does `password` match a Mosquitto hash? Constant time in the comparison
 * (timingSafeEqual; argon2 verifies in constant time itself). A malformed stored
 * hash is simply `false`. A Buffer password is compared byte for byte, as Mosquitto
 * does with the CONNECT password (which need not be UTF-8).
 */
export async function verifyMosquittoHash(password: string | Buffer, stored: string): Promise<boolean> {
  const parsed = parseMosquittoHash(stored);
  if (!parsed.ok) return false;
  return verifyParsed(password, parsed.value);
}

/** Writes a $7$ hash Mosquitto itself accepts, so credentials can move back out of dakkio too. */
export async function hashMosquittoPbkdf2(
  password: string,
  iterations: number = DEFAULT_PBKDF2_ITERATIONS,
  salt: Buffer = randomBytes(MOSQUITTO_SALT_BYTES),
): Promise<string> {
  const hash = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, MOSQUITTO_HASH_BYTES, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}
