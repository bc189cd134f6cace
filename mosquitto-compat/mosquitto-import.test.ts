import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../core/auth/testing/fixture.ts';
import { canPublish, canRead } from './acl-evaluate.ts';
import { createMosquittoImporter, type MosquittoImporter } from './mosquitto-import.ts';
import { createMqttCredentialService, type MqttCredentialService } from './mqtt-credential-service.ts';
import { hashMosquittoPbkdf2 } from './password-hash.ts';
import { ACL_FIXTURE } from './testing/acl-fixture.ts';
import { MOSQUITTO_PASSWD_BIN, mosquittoPasswd, requireBinary } from './testing/mosquitto-binaries.ts';
import { insertUser } from './testing/users.ts';

const bin = requireBinary(MOSQUITTO_PASSWD_BIN);

describe('importMosquittoFiles', () => {
  let env: TestEnv;
  let importer: MosquittoImporter;
  let creds: MqttCredentialService;
  let owner: string;
  let other: string;
  let dir: string;

  beforeEach(async () => {
    env = await createTestEnv();
    dir = mkdtempSync(join(tmpdir(), 'dakkio-import-'));
    const deps = { db: env.db, clock: env.clock, ids: env.ids, events: env.events };
    importer = createMosquittoImporter(deps);
    creds = createMqttCredentialService(deps);
    owner = await insertUser(env, 'owner@example.com');
    other = await insertUser(env, 'other@example.com');
  });
  afterEach(async () => {
    await creds.close();
    await env.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!bin.available)('imports real mosquitto_passwd output and an acl_file; devices authenticate as before', async () => {
    const file = join(dir, 'pw');
    mosquittoPasswd(file, 'alice', 'alice-pw', { create: true, iterations: 1000 });
    mosquittoPasswd(file, 'bob', 'bob-pw', { algorithm: 'sha512' });
    mosquittoPasswd(file, 'dave', 'dave-pw');
    const result = await importer.importMosquittoFiles(owner, {
      passwordFile: readFileSync(file, 'utf8'),
      aclFile: ACL_FIXTURE,
    });
    expect(result.committed).toBe(true);
    expect(result.rejected).toEqual([]);
    expect(result.imported.credentials).toBe(3);
    // alice 4 + bob 3 topic lines, 4 patterns; carol/observer have no credential → skipped
    expect(result.imported.rules).toBe(11);
    expect(result.skipped.map((s) => s.line)).toEqual([2, 16, 17, 18, 19, 20, 23, 24, 25]);
    expect(result.lines[0]).toMatchObject({ file: 'passwordFile', line: 1, status: 'imported' });
    expect(result.lines[0]?.message).toMatch(/created credential alice \(\$7\$ PBKDF2-SHA512, 1000 iterations\)/);

    const alice = await creds.authenticate('alice', 'alice-pw', 'a1');
    const bob = await creds.authenticate('bob', 'bob-pw', 'b1');
    const dave = await creds.authenticate('dave', 'dave-pw', 'd1');
    expect(await creds.authenticate('alice', 'bob-pw', 'a1')).toBeNull();
    if (!alice || !bob || !dave) throw new Error('expected principals');
    expect(canPublish(alice.rules, { username: 'alice', clientId: 'a1' }, 'cmd/1/set')).toBe(true);
    expect(canRead(alice.rules, { username: 'alice', clientId: 'a1' }, 'shared/secret')).toBe(false);
    expect(canRead(bob.rules, { username: 'bob', clientId: 'b1' }, '$foo/x')).toBe(true);
    expect(canPublish(dave.rules, { username: 'dave', clientId: 'd1' }, 'devices/dave/x')).toBe(true);
    expect(canPublish(dave.rules, { username: 'dave', clientId: 'd1' }, 'alice/x')).toBe(false);
  });

  it('is all-or-nothing: one bad line and nothing is written', async () => {
    const good = await hashMosquittoPbkdf2('pw', 10);
    const result = await importer.importMosquittoFiles(owner, {
      passwordFile: `u1:${good}\nu2:plaintext\n`,
      aclFile: 'user u1\ntopic sometimes a\n',
    });
    expect(result.committed).toBe(false);
    expect(result.imported).toEqual({ credentials: 0, rules: 0 });
    expect(result.rejected).toEqual([
      { file: 'passwordFile', line: 2, reason: expect.stringMatching(/u2/) },
      { file: 'aclFile', line: 2, reason: expect.stringMatching(/invalid access/) },
    ]);
    expect((await creds.list(owner)).items).toEqual([]);
  });

  it('with partial: keeps the good lines', async () => {
    const good = await hashMosquittoPbkdf2('pw', 10);
    const result = await importer.importMosquittoFiles(owner, { passwordFile: `u1:${good}\nu2:plain\n`, partial: true });
    expect(result.committed).toBe(true);
    expect(result.imported.credentials).toBe(1);
    const [u1] = (await creds.list(owner)).items;
    // no acl_file: Mosquitto lets authenticated clients do everything
    expect(u1?.rules).toEqual([{ type: 'topic', access: 'readwrite', filter: '#' }]);
  });

  it("replaces an existing credential's hash, refuses another owner's username", async () => {
    const mine = await creds.create(owner, { username: 'mine', password: 'old' });
    await creds.create(other, { username: 'theirs', password: 'x' });
    const h = await hashMosquittoPbkdf2('new', 10);
    const result = await importer.importMosquittoFiles(owner, { passwordFile: `mine:${h}\ntheirs:${h}\n` });
    expect(result.committed).toBe(false);
    expect(result.rejected).toEqual([{ file: 'passwordFile', line: 2, reason: expect.stringMatching(/another account/) }]);
    const ok = await importer.importMosquittoFiles(owner, { passwordFile: `mine:${h}\n` });
    expect(ok.lines[0]?.message).toMatch(/replaced the password of credential mine/);
    expect(await creds.authenticate('mine', 'new', 'c')).not.toBeNull();
    expect(await creds.authenticate('mine', 'old', 'c')).toBeNull();
    expect(env.published).toContainEqual({ type: 'mqtt-credential.changed', credentialId: mine.id, ownerId: owner });
  });

  it('an acl_file alone re-rules the existing credentials', async () => {
    await creds.create(owner, { username: 'dev1', password: 'x', rules: [{ type: 'topic', access: 'readwrite', filter: '#' }] });
    const result = await importer.importMosquittoFiles(owner, {
      aclFile: 'user dev1\ntopic read a/#\npattern write out/%u\n',
    });
    expect(result.imported).toEqual({ credentials: 0, rules: 2 });
    const [dev1] = (await creds.list(owner)).items;
    expect(dev1?.rules).toEqual([
      { type: 'topic', access: 'read', filter: 'a/#' },
      { type: 'pattern', access: 'write', filter: 'out/%u' },
    ]);
  });

  it('validates that at least one file is given', async () => {
    await expect(importer.importMosquittoFiles(owner, {})).rejects.toMatchObject({ code: 'validation_failed' });
  });
});
