import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** File in the data dir that keeps the generated JWT signing secret across restarts. */
export const JWT_SECRET_FILE = 'jwt-secret';

/**
 * The HS256 secret when DAKKIO_JWT_SECRET is not configured: 256 random bits,
 * generated once and persisted (base64url) in the data dir, readable by the
 * owner only (0600), so tokens survive a restart and nobody else on the host
 * can mint them.
 */
export async function loadOrCreateJwtSecret(dataDir: string): Promise<Uint8Array> {
  const path = join(dataDir, JWT_SECRET_FILE);
  try {
    const existing = Buffer.from((await readFile(path, 'utf8')).trim(), 'base64url');
    if (existing.byteLength >= 32) {
      // Tighten a file someone loosened by hand; the secret is as good as a password.
      await chmod(path, 0o600);
      return new Uint8Array(existing);
    }
    throw new Error(`${path} holds fewer than 256 bits; delete it to generate a new secret`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(32);
  try {
    // 'wx': never overwrite a secret another process wrote in the meantime.
    await writeFile(path, `${secret.toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreateJwtSecret(dataDir);
    throw err;
  }
  await chmod(path, 0o600); // the umask may have narrowed but never widened; make it exact
  return new Uint8Array(secret);
}
