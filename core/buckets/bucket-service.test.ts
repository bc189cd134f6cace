import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../auth/testing/fixture.ts';
import { createDataSourceService, type DataSourceService } from '../data-sources/data-source-service.ts';
import { DakkioError } from '../errors.ts';
import { createIdGenerator } from '../ids.ts';
import { type BucketService, createBucketService } from './bucket-service.ts';

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => (e instanceof DakkioError ? e.code : String(e)),
  );

describe('bucket and data-source services', () => {
  let env: TestEnv;
  let buckets: BucketService;
  let sources: DataSourceService;
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
    buckets = createBucketService(env);
    sources = createDataSourceService(env);
  });
  afterEach(async () => {
    await env.close();
  });

  it('creates, reads, updates and lists buckets', async () => {
    const b = await buckets.create(alice, { name: ' home ', retentionDays: 30 });
    expect(b).toEqual({ id: b.id, name: 'home', description: null, retentionDays: 30, createdAt: env.clock.now() });
    expect(await buckets.get(alice, b.id)).toEqual(b);
    const u = await buckets.update(alice, b.id, { description: 'the house', retentionDays: null });
    expect(u).toEqual({ ...b, description: 'the house', retentionDays: null });
    expect(await buckets.get(alice, b.id)).toEqual(u);
    expect((await buckets.list(alice, {})).items).toEqual([u]);
    expect(await buckets.countByOwner(alice)).toBe(1);
    expect(await buckets.listIdsByOwner(alice)).toEqual([b.id]);
    expect(await buckets.listIds(bob)).toEqual([]);
    const r = await buckets.create(alice, { name: 'short', retentionDays: 7 });
    expect(await buckets.listWithRetention()).toEqual([{ id: r.id, retentionDays: 7 }]);
  });

  it("another owner's bucket or source is not_found, never forbidden", async () => {
    const b = await buckets.create(alice, { name: 'a' });
    const s = await sources.create(alice, b.id, { name: 's' });
    expect(await codeOf(buckets.get(bob, b.id))).toBe('not_found');
    expect(await codeOf(buckets.update(bob, b.id, { name: 'x' }))).toBe('not_found');
    expect(await codeOf(buckets.delete(bob, b.id))).toBe('not_found');
    expect(await codeOf(buckets.get(alice, 'not-an-id'))).toBe('not_found');
    expect(await codeOf(sources.list(bob, b.id, {}))).toBe('not_found');
    expect(await codeOf(sources.create(bob, b.id, { name: 'x' }))).toBe('not_found');
    expect(await codeOf(sources.get(bob, b.id, s.id))).toBe('not_found');
    expect(await codeOf(sources.update(bob, b.id, s.id, { name: 'x' }))).toBe('not_found');
    expect(await codeOf(sources.delete(bob, b.id, s.id))).toBe('not_found');
    // A source addressed through a different bucket of the same owner is not found either.
    const other = await buckets.create(alice, { name: 'b' });
    expect(await codeOf(sources.get(alice, other.id, s.id))).toBe('not_found');
    expect((await buckets.list(bob, {})).items).toEqual([]);
  });

  it('deleting a bucket deletes its sources and readings, and says so', async () => {
    const b = await buckets.create(alice, { name: 'a' });
    const keep = await buckets.create(alice, { name: 'keep' });
    const s = await sources.create(alice, b.id, { name: 's' });
    const k = await sources.create(alice, keep.id, { name: 'k' });
    const ts = env.clock.now();
    await env.readingStore.write([
      { bucketId: b.id, dataSourceId: s.id, metric: 't', ts, value: 1 },
      { bucketId: keep.id, dataSourceId: k.id, metric: 't', ts, value: 2 },
    ]);
    await buckets.delete(alice, b.id);
    expect(await codeOf(buckets.get(alice, b.id))).toBe('not_found');
    expect(await env.db.selectFrom('data_sources').select('id').execute()).toEqual([{ id: k.id }]);
    expect((await env.readingStore.countReadings([b.id], 0)).total).toBe(0);
    expect((await env.readingStore.countReadings([keep.id], 0)).total).toBe(1);
    expect(env.published).toContainEqual({ type: 'bucket.deleted', bucketId: b.id, ownerId: alice });
  });

  it('paginates buckets and sources by id', async () => {
    const made: string[] = [];
    for (let i = 0; i < 7; i++) {
      made.push((await buckets.create(alice, { name: `b${i}` })).id);
      env.clock.advance(1000);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await buckets.list(alice, { limit: 3, cursor });
      seen.push(...page.items.map((b) => b.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual(made);
    expect(pages).toBe(3);
    expect((await buckets.list(alice, {})).nextCursor).toBeNull();

    const bucketId = made[0] as string;
    for (let i = 0; i < 3; i++) {
      await sources.create(alice, bucketId, { name: `s${i}` });
      env.clock.advance(1000);
    }
    const p1 = await sources.list(alice, bucketId, { limit: 2 });
    const p2 = await sources.list(alice, bucketId, { limit: 2, cursor: p1.nextCursor });
    expect(p1.items.length + p2.items.length).toBe(3);
    expect(p2.nextCursor).toBeNull();
  });
});
