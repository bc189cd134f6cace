import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TEST_SCRYPT_PARAMS, hashPassword } from '../core/auth/passwords.ts';
import { createTestEnv, type TestEnv } from '../core/auth/testing/fixture.ts';
import { isDakkioError } from '../core/errors.ts';
import { type MqttCredentialService, createMqttCredentialService } from './mqtt-credential-service.ts';
import { createCredentialVerifier, verifyAnyHash } from './credential-verifier.ts';
import { hashMosquittoPbkdf2 } from './password-hash.ts';
import { insertUser } from './testing/users.ts';

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return isDakkioError(e) ? e.code : String(e);
  }
};

describe('MQTT credential service', () => {
  let env: TestEnv;
  let svc: MqttCredentialService;
  let owner: string;
  let other: string;

  beforeEach(async () => {
    env = await createTestEnv();
    svc = createMqttCredentialService({
      db: env.db,
      clock: env.clock,
      ids: env.ids,
      events: env.events,
      hashPassword: (pw) => hashPassword(pw, TEST_SCRYPT_PARAMS),
    });
    owner = await insertUser(env, 'owner@example.com');
    other = await insertUser(env, 'other@example.com');
  });
  afterEach(async () => {
    await svc.close();
    await env.close();
  });

  it('creates with a password, authenticates, and never shows the hash', async () => {
    const rules = [{ type: 'topic' as const, access: 'readwrite' as const, filter: 'home/#' }];
    const cred = await svc.create(owner, { username: 'thermostat', password: 'pw-1', rules });
    expect(cred).toMatchObject({ username: 'thermostat', rules, passwordFormat: 'dakkio-scrypt' });
    expect(JSON.stringify(cred)).not.toMatch(/scrypt\$/);
    const p = await svc.authenticate('thermostat', 'pw-1', 'c1');
    expect(p).toEqual({ kind: 'mqtt-credential', credentialId: cred.id, ownerId: owner, username: 'thermostat', rules });
    expect(await svc.authenticate('thermostat', 'pw-2', 'c1')).toBeNull();
    expect(await svc.authenticate('nobody', 'pw-1', 'c1')).toBeNull();
  });

  it('accepts an imported Mosquitto hash as it is', async () => {
    const passwordHash = await hashMosquittoPbkdf2('legacy', 101);
    const cred = await svc.create(owner, { username: 'old', passwordHash });
    expect(cred.passwordFormat).toBe('mosquitto-pbkdf2');
    expect((await svc.authenticate('old', 'legacy', 'c'))?.credentialId).toBe(cred.id);
    expect((await svc.authenticate('old', Buffer.from('legacy'), 'c'))?.credentialId).toBe(cred.id);
    expect(await svc.authenticate('old', Buffer.from([0xff, 0xfe]), 'c')).toBeNull();
    expect(await codeOf(svc.create(owner, { username: 'bad', passwordHash: '$7$1$abc$def' }))).toBe('validation_failed');
  });

  it('validates input: one of password/passwordHash, valid filters, username shape', async () => {
    expect(await codeOf(svc.create(owner, { username: 'u' }))).toBe('validation_failed');
    expect(await codeOf(svc.create(owner, { username: 'u', password: 'a', passwordHash: '$6$x' }))).toBe(
      'validation_failed',
    );
    expect(
      await codeOf(svc.create(owner, { username: 'u', password: 'a', rules: [{ type: 'topic', access: 'read', filter: 'a/#/b' }] })),
    ).toBe('validation_failed');
    expect(await codeOf(svc.create(owner, { username: 'a:b', password: 'a' }))).toBe('validation_failed');
  });

  it('usernames are unique across owners; other owners get not_found', async () => {
    const cred = await svc.create(owner, { username: 'dev', password: 'x' });
    expect(await codeOf(svc.create(other, { username: 'dev', password: 'y' }))).toBe('conflict');
    expect(await codeOf(svc.get(other, cred.id))).toBe('not_found');
    expect(await codeOf(svc.update(other, cred.id, { rules: [] }))).toBe('not_found');
    expect(await codeOf(svc.delete(other, cred.id))).toBe('not_found');
    expect((await svc.list(other)).items).toEqual([]);
    expect((await svc.list(owner)).items.map((c) => c.id)).toEqual([cred.id]);
  });

  it('a password change takes effect at once, even for a cached verification', async () => {
    const cred = await svc.create(owner, { username: 'dev', password: 'old-pw' });
    expect(await svc.authenticate('dev', 'old-pw', 'c')).not.toBeNull();
    expect(await svc.authenticate('dev', 'old-pw', 'c')).not.toBeNull();
    await svc.update(owner, cred.id, { password: 'new-pw' });
    expect(await svc.authenticate('dev', 'old-pw', 'c')).toBeNull();
    expect(await svc.authenticate('dev', 'new-pw', 'c')).not.toBeNull();
    expect(env.published).toContainEqual({ type: 'mqtt-credential.changed', credentialId: cred.id, ownerId: owner });
    await svc.delete(owner, cred.id);
    expect(await svc.authenticate('dev', 'new-pw', 'c')).toBeNull();
  });
});

describe('credential verifier cache', () => {
  it('a reconnect storm runs the slow hash once; wrong passwords always run it', async () => {
    let calls = 0;
    const stored = await hashMosquittoPbkdf2('pw', 1000);
    const v = createCredentialVerifier({
      verifyHash: async (pw, h) => {
        calls++;
        return verifyAnyHash(pw, h);
      },
    });
    const results = await Promise.all(Array.from({ length: 50 }, () => v.verify('cred-1', stored, 'pw')));
    expect(results.every(Boolean)).toBe(true);
    expect(calls).toBe(1);
    expect(await v.verify('cred-1', stored, 'pw')).toBe(true);
    expect(calls).toBe(1);
    expect(await v.verify('cred-1', stored, 'pW')).toBe(false);
    expect(await v.verify('cred-1', stored, 'pW')).toBe(false);
    expect(calls).toBe(3);
    // a new stored hash (password changed) is never answered from the old entry
    const changed = await hashMosquittoPbkdf2('other', 1000);
    expect(await v.verify('cred-1', changed, 'pw')).toBe(false);
    expect(calls).toBe(4);
    v.forget('cred-1');
    expect(await v.verify('cred-1', stored, 'pw')).toBe(true);
    expect(calls).toBe(5);
  });
});
