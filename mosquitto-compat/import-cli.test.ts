import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../core/auth/testing/fixture.ts';
import { type MosquittoImportCliDeps, runMosquittoImportCli, userIdByEmail } from './import-cli.ts';
import { createMosquittoImporter } from './mosquitto-import.ts';
import { hashMosquittoPbkdf2 } from './password-hash.ts';
import { insertUser } from './testing/users.ts';

describe('dakkio mosquitto import', () => {
  let env: TestEnv;
  let dir: string;
  let out: string[];
  let err: string[];
  let deps: MosquittoImportCliDeps;

  beforeEach(async () => {
    env = await createTestEnv();
    dir = mkdtempSync(join(tmpdir(), 'dakkio-cli-'));
    await insertUser(env, 'owner@example.com');
    out = [];
    err = [];
    deps = {
      importer: createMosquittoImporter({ db: env.db, clock: env.clock, ids: env.ids, events: env.events }),
      findUserIdByEmail: userIdByEmail(env.db),
      out: (l) => out.push(l),
      err: (l) => err.push(l),
    };
  });
  afterEach(async () => {
    await env.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports every line and exits 0 on success', async () => {
    const pw = join(dir, 'passwd');
    const acl = join(dir, 'acl');
    writeFileSync(pw, `# users\nalice:${await hashMosquittoPbkdf2('a', 10)}\n`);
    writeFileSync(acl, 'topic read public/#\nuser alice\ntopic readwrite alice/#\npattern read in/%c\n');
    const code = await runMosquittoImportCli(
      ['import', '--password-file', pw, '--acl-file', acl, '--owner', ' Owner@Example.com '],
      deps,
    );
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out).toEqual([
      `${pw}:2: imported: created credential alice ($7$ PBKDF2-SHA512, 10 iterations)`,
      `${acl}:1: skipped: rule for anonymous clients: dakkio refuses anonymous MQTT connections`,
      `${acl}:3: imported: topic readwrite alice/# for alice`,
      `${acl}:4: imported: pattern read in/%c for all 1 credentials`,
      'imported 1 credential(s) and 2 rule(s); 1 line(s) skipped',
    ]);
  });

  it('rejects with line numbers and imports nothing; exit 1', async () => {
    const pw = join(dir, 'passwd');
    writeFileSync(pw, `ok:${await hashMosquittoPbkdf2('a', 10)}\nbad:cleartext\n`);
    const code = await runMosquittoImportCli(['--password-file', pw, '--owner', 'owner@example.com'], deps);
    expect(code).toBe(1);
    expect(out).toEqual([`${pw}:2: rejected: user bad: not a hashed password (plain text? run mosquitto_passwd -U on the file first)`]);
    expect(err.join('\n')).toMatch(/nothing imported: 1 line\(s\) rejected/);
    const rows = await env.db.selectFrom('mqtt_credentials').selectAll().execute();
    expect(rows).toEqual([]);
  });

  it('usage errors, unknown owner, unreadable file', async () => {
    expect(await runMosquittoImportCli(['--owner', 'owner@example.com'], deps)).toBe(2);
    expect(await runMosquittoImportCli(['--password-file', 'x', '--bogus'], deps)).toBe(2);
    expect(await runMosquittoImportCli(['--password-file', join(dir, 'missing'), '--owner', 'owner@example.com'], deps)).toBe(1);
    expect(err.at(-1)).toMatch(/cannot read .*missing: ENOENT/);
    writeFileSync(join(dir, 'p'), '');
    expect(await runMosquittoImportCli(['--password-file', join(dir, 'p'), '--owner', 'nobody@example.com'], deps)).toBe(1);
    expect(err.at(-1)).toMatch(/no user with email nobody@example.com/);
  });
});
