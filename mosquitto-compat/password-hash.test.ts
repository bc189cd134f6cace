import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePasswordFile } from './password-file.ts';
import { hashMosquittoPbkdf2, parseMosquittoHash, verifyMosquittoHash } from './password-hash.ts';
import { MOSQUITTO_PASSWD_BIN, mosquittoPasswd, requireBinary } from './testing/mosquitto-binaries.ts';

const bin = requireBinary(MOSQUITTO_PASSWD_BIN);
const dir = mkdtempSync(join(tmpdir(), 'dakkio-pw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!bin.available)('password files written by the real mosquitto_passwd', () => {
  const file = join(dir, 'passwords');
  const users = [
    { username: 'default', password: 'correct horse', opts: {} },
    { username: 'pbkdf2-1', password: 'one', opts: { algorithm: 'sha512-pbkdf2' as const, iterations: 1 } },
    { username: 'pbkdf2-1000', password: 'p@ss:w0rd', opts: { algorithm: 'sha512-pbkdf2' as const, iterations: 1000 } },
    { username: 'pbkdf2-20000', password: 'ünïcödé', opts: { algorithm: 'sha512-pbkdf2' as const, iterations: 20000 } },
    { username: 'legacy', password: 'hunter2', opts: { algorithm: 'sha512' as const } },
    { username: 'sha512-second', password: 'x', opts: { algorithm: 'sha512' as const } },
  ];

  it('parses and verifies every entry, and refuses wrong passwords', async () => {
    for (const [i, u] of users.entries()) mosquittoPasswd(file, u.username, u.password, { ...u.opts, create: i === 0 });
    const parsed = parsePasswordFile(readFileSync(file, 'utf8'));
    expect(parsed.rejected).toEqual([]);
    expect(parsed.entries.map((e) => e.username)).toEqual(users.map((u) => u.username));

    const byName = new Map(parsed.entries.map((e) => [e.username, e.passwordHash]));
    expect(byName.get('default')).toMatch(/^\$7\$101\$/);
    expect(byName.get('pbkdf2-1000')).toMatch(/^\$7\$1000\$/);
    expect(byName.get('pbkdf2-20000')).toMatch(/^\$7\$20000\$/);
    expect(byName.get('legacy')).toMatch(/^\$6\$/);

    for (const u of users) {
      const stored = byName.get(u.username) ?? '';
      expect(await verifyMosquittoHash(u.password, stored), u.username).toBe(true);
      expect(await verifyMosquittoHash(`${u.password}x`, stored), u.username).toBe(false);
      expect(await verifyMosquittoHash('', stored), u.username).toBe(false);
    }
  });
});

describe('hashes dakkio writes', () => {
  it('round-trips a $7$ hash with the given iteration count', async () => {
    const h = await hashMosquittoPbkdf2('s3cret', 50);
    expect(h).toMatch(/^\$7\$50\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
    expect(await verifyMosquittoHash('s3cret', h)).toBe(true);
    expect(await verifyMosquittoHash('s3creT', h)).toBe(false);
  });

  it.skipIf(!bin.available)('are accepted by mosquitto_passwd-compatible layout (same salt gives same hash)', async () => {
    const file = join(dir, 'one');
    mosquittoPasswd(file, 'u', 'pw', { create: true, iterations: 777 });
    const stored = readFileSync(file, 'utf8').trim().slice(2);
    const p = parseMosquittoHash(stored);
    if (!p.ok || p.value.kind !== 'sha512-pbkdf2') throw new Error('expected $7$');
    expect(await hashMosquittoPbkdf2('pw', 777, p.value.salt)).toBe(stored);
  });

  it('verifies $argon2id$ entries (Mosquitto 2.1 format)', async () => {
    const { hash } = await import('@node-rs/argon2');
    const encoded = await hash('argon-pw', { algorithm: 2, memoryCost: 1024, timeCost: 1 });
    expect(parseMosquittoHash(encoded).ok).toBe(true);
    expect(await verifyMosquittoHash('argon-pw', encoded)).toBe(true);
    expect(await verifyMosquittoHash('argon-pW', encoded)).toBe(false);
  });
});

describe('malformed lines', () => {
  const salt = Buffer.alloc(12, 1).toString('base64');
  const hash = Buffer.alloc(64, 2).toString('base64');
  const text = [
    '# a comment',
    '',
    `ok:$6$${salt}$${hash}`,
    'plain:secret',
    'nocolon',
    `:$6$${salt}$${hash}`,
    'nohash:',
    `short-salt:$7$101$${Buffer.alloc(8).toString('base64')}$${hash}`,
    `short-hash:$7$101$${salt}$${Buffer.alloc(32).toString('base64')}`,
    `zero-it:$7$0$${salt}$${hash}`,
    `bad-it:$7$abc$${salt}$${hash}`,
    `huge-it:$7$999999999$${salt}$${hash}`,
    `bad-b64:$6$!!!!!!!!!!!!!!!!$${hash}`,
    `unknown:$5$${salt}$${hash}`,
    'argon2i:$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g',
    `ok:$6$${salt}$${hash}`,
    `  spaced  :  $6$${salt}$${hash}  `,
  ].join('\n');

  it('reports each bad line with its number and a reason, keeps the good ones', () => {
    const parsed = parsePasswordFile(text);
    expect(parsed.entries.map((e) => [e.line, e.username])).toEqual([
      [3, 'ok'],
      [17, 'spaced'],
    ]);
    expect(parsed.rejected.map((r) => r.line)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    for (const r of parsed.rejected) expect(r.reason.length).toBeGreaterThan(5);
    expect(parsed.rejected.find((r) => r.line === 4)?.reason).toMatch(/mosquitto_passwd -U/);
    expect(parsed.rejected.find((r) => r.line === 16)?.reason).toMatch(/duplicate/);
  });

  it('verify is false (never throws) for garbage stored hashes', async () => {
    for (const s of ['', 'secret', '$7$', `$7$x$${salt}$${hash}`, '$argon2id$garbage']) {
      expect(await verifyMosquittoHash('secret', s)).toBe(false);
    }
  });
});
