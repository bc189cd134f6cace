import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Password hashing with node:crypto scrypt. The parameters are stored with each
 * hash (`$scrypt$ln=17,r=8,p=1$<salt b64>$<hash b64>`) so the cost can be raised
 * later without breaking existing hashes: verification always uses the stored ones.
 */
export interface ScryptParams {
  /** log2 of the CPU/memory cost N */
  ln: number;
  r: number;
  p: number;
}

/** OWASP Password Storage Cheat Sheet minimum for scrypt: N=2^17, r=8, p=1 (128 MiB). */
export const OWASP_SCRYPT_PARAMS: ScryptParams = { ln: 17, r: 8, p: 1 };

/** For tests only: a cost low enough to run hundreds of hashes on a shared CI machine. */
export const TEST_SCRYPT_PARAMS: ScryptParams = { ln: 10, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
const FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

function derive(password: string, salt: Buffer, params: ScryptParams, keyLen: number): Promise<Buffer> {
  const N = 2 ** params.ln;
  // scrypt needs 128*N*r bytes; node's default maxmem (32 MiB) is below the OWASP cost, so allow twice that.
  const maxmem = 2 * 128 * N * params.r + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, keyLen, { N, r: params.r, p: params.p, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export async function hashPassword(password: string, params: ScryptParams = OWASP_SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params, KEY_BYTES);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Parses the stored parameters; null when the string is not one of our hashes. */
export function parsePasswordHash(stored: string): (ScryptParams & { salt: Buffer; key: Buffer }) | null {
  const m = FORMAT.exec(stored);
  if (!m) return null;
  const [, ln, r, p, salt, key] = m as unknown as [string, string, string, string, string, string];
  const params = { ln: Number(ln), r: Number(r), p: Number(p) };
  // Refuse absurd stored costs rather than let a corrupt row allocate gigabytes.
  if (params.ln < 1 || params.ln > 22 || params.r < 1 || params.p < 1) return null;
  return { ...params, salt: Buffer.from(salt, 'base64'), key: Buffer.from(key, 'base64') };
}

/** Constant-time check of `password` against a stored hash. A malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parsePasswordHash(stored);
  if (!parsed || parsed.key.length === 0) return false;
  const candidate = await derive(password, parsed.salt, parsed, parsed.key.length);
  return timingSafeEqual(candidate, parsed.key);
}

/**
 * A hash of a random password at the given cost. Login verifies against it when
 * the email is unknown, so "no such user" and "wrong password" take the same time.
 */
export function createDummyHash(params: ScryptParams = OWASP_SCRYPT_PARAMS): Promise<string> {
  return hashPassword(randomBytes(24).toString('base64'), params);
}
