import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApiKeyService } from '../../auth/api-key-service.ts';
import { systemClock } from '../../clock.ts';
import { createLocalEventBus } from '../../event-bus-local.ts';
import { createIdGenerator } from '../../ids.ts';
import { createApiKeyByHash } from './api-key-by-hash.ts';
import { createSqliteMetadataDb, type MetadataDb, sqliteHandleOf } from './sqlite-metadata-db.ts';
import type { ApiKeysTable } from './tables.ts';

describe('API key lookup by hash', () => {
  let dir: string;
  let db: MetadataDb;
  const row = (id: string, secretHash: string, previous: string | null): ApiKeysTable => ({
    id,
    owner_id: 'u1',
    name: id,
    prefix: 'p',
    secret_hash: secretHash,
    previous_secret_hash: previous,
    previous_expires_at: previous ? 5 : null,
    permissions: '["write"]',
    bucket_ids: null,
    rules: null,
    created_at: 1,
    last_used_at: null,
    expires_at: null,
    revoked_at: null,
  });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dakkio-keyhash-'));
    db = await createSqliteMetadataDb(join(dir, 'm.db'));
    await db
      .insertInto('users')
      .values({
        id: 'u1',
        email: 'a@example.com',
        name: null,
        password_hash: 'x',
        created_at: 0,
        sessions_valid_after: 0,
      })
      .execute();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds a key by its secret hash or its previous one, as the kysely query does', async () => {
    await db
      .insertInto('api_keys')
      .values([row('k1', 'h1', null), row('k2', 'h2', 'h2-old')])
      .execute();
    const fast = createApiKeyByHash(db);
    const viaKysely = createApiKeyByHash(
      db.withPlugin({ transformQuery: (a) => a.node, transformResult: async (a) => a.result }),
    );
    for (const hash of ['h1', 'h2', 'h2-old', 'nope']) expect(await fast(hash)).toEqual(await viaKysely(hash));
    expect((await fast('h2-old'))?.id).toBe('k2');
    expect(await fast('nope')).toBeUndefined();
  });

  it('prepares its statement once, not per cache miss (a reconnect wave misses for every key at once)', async () => {
    const owner = createIdGenerator()();
    await db
      .insertInto('users')
      .values({
        id: owner,
        email: 'b@example.com',
        name: null,
        password_hash: 'x',
        created_at: 0,
        sessions_valid_after: 0,
      })
      .execute();
    const deps = {
      db,
      clock: systemClock,
      ids: createIdGenerator(),
      events: createLocalEventBus(),
      lastUsedFlushMs: 3_600_000,
    };
    const maker = createApiKeyService(deps);
    const secrets: string[] = [];
    for (let i = 0; i < 20; i++)
      secrets.push((await maker.create(owner, { name: `k${i}`, permissions: ['write'] })).secret);
    await maker.close();
    const prepare = vi.spyOn(sqliteHandleOf(db)!, 'prepare');
    const cold = createApiKeyService(deps);
    for (const s of secrets) expect((await cold.verify(s)).ownerId).toBe(owner);
    await cold.close();
    expect(prepare.mock.calls.filter(([sql]) => String(sql).includes('"api_keys"')).length).toBeLessThanOrEqual(1);
  });
});
