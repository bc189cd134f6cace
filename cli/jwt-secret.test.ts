import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JWT_SECRET_FILE, loadOrCreateJwtSecret } from './jwt-secret.ts';

describe('loadOrCreateJwtSecret', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'dakkio-jwt-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('generates 256 bits once, keeps them with mode 0600 and returns the same secret later', async () => {
    const dir = join(tempDir(), 'nested', 'data');
    const first = await loadOrCreateJwtSecret(dir);
    expect(first.byteLength).toBe(32);
    expect(statSync(join(dir, JWT_SECRET_FILE)).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateJwtSecret(dir);
    expect(Buffer.from(again).equals(Buffer.from(first))).toBe(true);
    const other = await loadOrCreateJwtSecret(tempDir());
    expect(Buffer.from(other).equals(Buffer.from(first))).toBe(false);
  });

  it('tightens loose permissions and refuses a too-short stored secret', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, JWT_SECRET_FILE), Buffer.alloc(32, 7).toString('base64url'), { mode: 0o644 });
    const s = await loadOrCreateJwtSecret(dir);
    expect(Buffer.from(s).equals(Buffer.alloc(32, 7))).toBe(true);
    expect(statSync(join(dir, JWT_SECRET_FILE)).mode & 0o777).toBe(0o600);
    writeFileSync(join(dir, JWT_SECRET_FILE), 'c2hvcnQ');
    await expect(loadOrCreateJwtSecret(dir)).rejects.toThrow(/256 bits/);
  });
});
