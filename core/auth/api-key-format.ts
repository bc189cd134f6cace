import { hash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * API key secrets (API.md): `dakkio_` + 26 random characters [a-z0-9] + a
 * 6-character checksum of those 26, 39 characters in all.
 *
 * Checksum: CRC-32 (zlib's, IEEE polynomial) of the 26 random characters as
 * ASCII, reduced modulo 36^6, written in base 36 and left-padded with '0' to 6
 * characters. It is not a secret: it only lets a mistyped or fabricated key be
 * refused before any store lookup, and lets secret scanners tell a real key
 * from a look-alike. The 26 random characters carry ~134 bits of entropy.
 *
 * CRC-32 comes from node:zlib (Node >= 20.15) rather than a library: it is built in.
 */
export const API_KEY_PREFIX = 'dakkio_';
const RANDOM_CHARS = 26;
const CHECKSUM_CHARS = 6;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const CHECKSUM_MODULUS = 36 ** CHECKSUM_CHARS;
const SHAPE = /^dakkio_([a-z0-9]{26})([a-z0-9]{6})$/;
/** How many leading characters of a secret are kept (and shown) as its `prefix`. */
export const API_KEY_DISPLAY_PREFIX_LENGTH = API_KEY_PREFIX.length + 6;

/** Does the value look like an API key at all (so the HTTP layer can refuse it in the wrong place)? */
export function looksLikeApiKey(value: string): boolean {
  return typeof value === 'string' && value.startsWith(API_KEY_PREFIX);
}

export function apiKeyChecksum(body: string): string {
  return (crc32(body) % CHECKSUM_MODULUS).toString(36).padStart(CHECKSUM_CHARS, '0');
}

function randomChars(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const byte of randomBytes(n * 2)) {
      // Rejection sampling: 252 = 7 * 36, so every character is equally likely.
      if (byte < 252 && out.length < n) out += ALPHABET[byte % 36];
    }
  }
  return out;
}

export function generateApiKeySecret(): string {
  const body = randomChars(RANDOM_CHARS);
  return `${API_KEY_PREFIX}${body}${apiKeyChecksum(body)}`;
}

/** Shape and checksum only; no lookup. */
export function isWellFormedApiKey(value: string): boolean {
  if (typeof value !== 'string') return false;
  const m = SHAPE.exec(value);
  return m !== null && apiKeyChecksum(m[1] as string) === m[2];
}

/**
 * What is stored and looked up: SHA-256 of the whole secret, hex. crypto.hash (Node
 * >= 20.12) is the one-shot form: no Hash object per call, which matters on the
 * CONNECT path where every MQTT connect verifies its key.
 */
export function hashApiKeySecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

export function apiKeyDisplayPrefix(secret: string): string {
  return secret.slice(0, API_KEY_DISPLAY_PREFIX_LENGTH);
}

/** A short tag of the secret a session used, so rotation can end exactly those sessions (never shown to clients). */
export function secretFingerprint(secretHash: string): string {
  return secretHash.slice(0, 16);
}
