import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBucketService } from '../buckets/bucket-service.ts';
import { DakkioError } from '../errors.ts';
import { createIdGenerator } from '../ids.ts';
import { generateApiKeySecret } from './api-key-format.ts';
import { type ApiKeyService, createApiKeyService, looksLikeApiKey } from './api-key-service.ts';
import { keyAllows } from './principal.ts';
import { createTestEnv, type TestEnv } from './testing/fixture.ts';

async function failure(p: Promise<unknown>): Promise<DakkioError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DakkioError);
  return e as DakkioError;
}

describe('API key service', () => {
  let env: TestEnv;
  let keys: ApiKeyService;
  const alice = createIdGenerator()();
  const bob = createIdGenerator()();

  beforeEach(async () => {
    env = await createTestEnv();
    for (const id of [alice, bob]) {
      await env.db
        .insertInto('users')
        .values({ id, email: `${id}@example.com`, name: null, password_hash: 'x', created_at: 0, sessions_valid_after: 0 })
        .execute();
    }
    keys = createApiKeyService({ ...env, lastUsedFlushMs: 3_600_000 });
  });
  afterEach(async () => {
    await keys.close();
    await env.close();
  });

  it('creates a key shown once, stores only its SHA-256 and never returns secret or hash', async () => {
    const { key, secret } = await keys.create(alice, { name: ' dev ', permissions: ['write', 'read'] });
    expect(secret).toMatch(/^dakkio_[a-z0-9]{32}$/);
    expect(looksLikeApiKey(secret)).toBe(true);
    expect(key).toEqual({
      id: key.id,
      name: 'dev',
      prefix: secret.slice(0, 13),
      permissions: ['read', 'write'],
      bucketIds: null,
      createdAt: env.clock.now(),
      lastUsedAt: null,
      expiresAt: null,
      revokedAt: null,
    });
    const row = await env.db.selectFrom('api_keys').selectAll().executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    const listed = await keys.list(alice, {});
    expect(JSON.stringify(listed)).not.toContain(row.secret_hash);
    expect(await keys.get(alice, key.id)).toEqual(key);
  });

  it('refuses a bad checksum without touching the store', async () => {
    const { secret } = await keys.create(alice, { name: 'k', permissions: ['read'] });
    const last = secret.at(-1) === '0' ? '1' : '0';
    env.resetQueryCount();
    const e = await failure(keys.verify(`${secret.slice(0, -1)}${last}`));
    expect([e.code, e.credentialProblem]).toEqual(['unauthorized', 'invalid']);
    expect((await failure(keys.verify('dakkio_short'))).code).toBe('unauthorized');
    expect((await failure(keys.verify('not-a-key'))).code).toBe('unauthorized');
    expect(env.queries.count).toBe(0);
    // A well-formed but unknown key is looked up once and refused.
    expect((await failure(keys.verify(generateApiKeySecret()))).credentialProblem).toBe('invalid');
    expect(env.queries.count).toBe(1);
  });

  it('carries scoped permissions; bucketIds must be the owner’s', async () => {
    const buckets = createBucketService(env);
    const mine = await buckets.create(alice, { name: 'mine' });
    const other = await buckets.create(alice, { name: 'other' });
    const bobs = await buckets.create(bob, { name: 'bobs' });
    const { key, secret } = await keys.create(alice, { name: 'k', permissions: ['read'], bucketIds: [mine.id] });
    const p = await keys.verify(secret);
    expect(p).toMatchObject({ kind: 'api-key', keyId: key.id, ownerId: alice, permissions: ['read'], bucketIds: [mine.id] });
    expect(keyAllows(p, mine.id, 'read')).toBe(true);
    expect(keyAllows(p, mine.id, 'write')).toBe(false);
    expect(keyAllows(p, other.id, 'read')).toBe(false);
    const e = await failure(keys.create(alice, { name: 'k', permissions: ['read'], bucketIds: [mine.id, bobs.id] }));
    expect(e.code).toBe('validation_failed');
    expect(e.details).toEqual([{ path: 'bucketIds.1', message: 'unknown bucket' }]);
    expect((await failure(keys.create(alice, { name: 'k', permissions: [] }))).code).toBe('validation_failed');
  });

  it('caches verifications and a revoke invalidates the cache at once', async () => {
    const { key, secret } = await keys.create(alice, { name: 'k', permissions: ['write'] });
    await keys.verify(secret);
    env.resetQueryCount();
    await keys.verify(secret);
    expect(env.queries.count).toBe(0);
    await keys.revoke(alice, key.id);
    const e = await failure(keys.verify(secret));
    expect([e.code, e.credentialProblem]).toEqual(['unauthorized', 'revoked']);
    expect(env.published).toContainEqual({ type: 'key.revoked', keyId: key.id, ownerId: alice });
    expect((await keys.get(alice, key.id)).revokedAt).toBe(env.clock.now());
  });

  it('drops cached verifications on events from other nodes', async () => {
    const { key, secret } = await keys.create(alice, { name: 'k', permissions: ['write'] });
    await keys.verify(secret);
    // Another node revoked it: only the event reaches us.
    await env.db.updateTable('api_keys').set({ revoked_at: env.clock.now() }).where('id', '=', key.id).execute();
    await env.events.publish({ type: 'key.revoked', keyId: key.id, ownerId: alice });
    expect((await failure(keys.verify(secret))).credentialProblem).toBe('revoked');
  });

  it('rotates with grace: both secrets work, then only the new one (injected clock)', async () => {
    const { key, secret: oldSecret } = await keys.create(alice, { name: 'k', permissions: ['write'] });
    const before = await keys.verify(oldSecret);
    const rotated = await keys.rotate(alice, key.id, { graceSeconds: 60 });
    expect(rotated.secret).not.toBe(oldSecret);
    expect(rotated.key.prefix).toBe(rotated.secret.slice(0, 13));
    const viaOld = await keys.verify(oldSecret);
    const viaNew = await keys.verify(rotated.secret);
    expect(viaOld.secretFingerprint).toBe(before.secretFingerprint);
    expect(viaNew.secretFingerprint).not.toBe(before.secretFingerprint);
    expect(viaOld.expiresAt).toBe(env.clock.now() + 60_000);
    expect(viaNew.expiresAt).toBeNull();
    expect(env.published).toContainEqual({ type: 'key.changed', keyId: key.id, ownerId: alice });

    env.clock.advance(59_000);
    await keys.verify(oldSecret);
    env.clock.advance(1_000);
    expect((await failure(keys.verify(oldSecret))).credentialProblem).toBe('revoked');
    await keys.verify(rotated.secret);
  });

  it('rotates without grace: the old secret dies at once and its sessions are told', async () => {
    const { key, secret: oldSecret } = await keys.create(alice, { name: 'k', permissions: ['write'] });
    const before = await keys.verify(oldSecret);
    const rotated = await keys.rotate(alice, key.id);
    expect((await failure(keys.verify(oldSecret))).code).toBe('unauthorized');
    await keys.verify(rotated.secret);
    expect(env.published).toContainEqual({
      type: 'key.revoked',
      keyId: key.id,
      ownerId: alice,
      secretFingerprint: before.secretFingerprint,
    });
    expect((await failure(keys.rotate(alice, key.id, { graceSeconds: 86_401 }))).code).toBe('validation_failed');
  });

  it('refuses an expired key', async () => {
    const { secret } = await keys.create(alice, { name: 'k', permissions: ['read'], expiresAt: env.clock.now() + 1000 });
    await keys.verify(secret);
    env.clock.advance(1000);
    const e = await failure(keys.verify(secret));
    expect([e.code, e.credentialProblem]).toEqual(['unauthorized', 'expired']);
    expect((await failure(keys.create(alice, { name: 'k', permissions: ['read'], expiresAt: 1 }))).code).toBe(
      'validation_failed',
    );
  });

  it('coalesces lastUsedAt: no write per verify, one statement per flush', async () => {
    const a = await keys.create(alice, { name: 'a', permissions: ['read'] });
    const b = await keys.create(alice, { name: 'b', permissions: ['read'] });
    env.resetQueryCount();
    for (let i = 0; i < 50; i++) {
      env.clock.advance(10);
      await keys.verify(a.secret);
      await keys.verify(b.secret);
    }
    expect(env.queries.byKind.get('UpdateQueryNode') ?? 0).toBe(0);
    // Visible before the flush (buffered), and stored by it.
    expect((await keys.get(alice, a.key.id)).lastUsedAt).toBe(env.clock.now());
    await keys.flushLastUsed();
    // both keys in one statement, not one UPDATE per key
    const writes = () => (env.queries.byKind.get('UpdateQueryNode') ?? 0) + (env.queries.byKind.get('RawNode') ?? 0);
    expect(writes()).toBe(1);
    for (const k of [a, b]) {
      const row = await env.db.selectFrom('api_keys').select('last_used_at').where('id', '=', k.key.id).executeTakeFirstOrThrow();
      expect(row.last_used_at).toBe(env.clock.now());
    }
    await keys.flushLastUsed();
    expect(writes()).toBe(1);
  });

  it('stores lastUsedAt of many keys in a few statements and never moves a stored time back', async () => {
    const created = [];
    for (let i = 0; i < 1201; i++) created.push(await keys.create(alice, { name: `k${i}`, permissions: ['read'] }));
    const first = created[0]!.key.id;
    // a newer time already stored (another process, say) stays
    await env.db.updateTable('api_keys').set({ last_used_at: env.clock.now() + 60_000 }).where('id', '=', first).execute();
    env.clock.advance(10);
    for (const k of created) await keys.verify(k.secret);
    env.resetQueryCount();
    await keys.flushLastUsed();
    const writes = (env.queries.byKind.get('UpdateQueryNode') ?? 0) + (env.queries.byKind.get('RawNode') ?? 0);
    expect(writes).toBe(3);
    const rows = await env.db.selectFrom('api_keys').select(['id', 'last_used_at']).execute();
    const at = new Map(rows.map((r) => [r.id, r.last_used_at]));
    expect(at.get(first)).toBe(env.clock.now() - 10 + 60_000);
    for (const k of created.slice(1)) expect(at.get(k.key.id)).toBe(env.clock.now());
  });

  it("another owner's key is not_found", async () => {
    const { key } = await keys.create(alice, { name: 'k', permissions: ['read'] });
    expect((await failure(keys.get(bob, key.id))).code).toBe('not_found');
    expect((await failure(keys.revoke(bob, key.id))).code).toBe('not_found');
    expect((await failure(keys.rotate(bob, key.id))).code).toBe('not_found');
    expect((await keys.list(bob, {})).items).toEqual([]);
  });

  it('paginates by id with an opaque cursor', async () => {
    const created = [];
    for (let i = 0; i < 5; i++) {
      created.push((await keys.create(alice, { name: `k${i}`, permissions: ['read'] })).key.id);
      env.clock.advance(1000);
    }
    const p1 = await keys.list(alice, { limit: 2 });
    const p2 = await keys.list(alice, { limit: 2, cursor: p1.nextCursor });
    const p3 = await keys.list(alice, { limit: 2, cursor: p2.nextCursor });
    expect([...p1.items, ...p2.items, ...p3.items].map((k) => k.id)).toEqual(created);
    expect(p3.nextCursor).toBeNull();
    expect(await keys.countByOwner(alice)).toBe(5);
    expect((await failure(keys.list(alice, { cursor: 'bogus' }))).code).toBe('validation_failed');
    expect((await failure(keys.list(alice, { limit: 1001 }))).code).toBe('validation_failed');
  });
});
