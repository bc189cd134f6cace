import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../auth/testing/fixture.ts';
import { type BucketService, createBucketService } from '../buckets/bucket-service.ts';
import { DakkioError } from '../errors.ts';
import { createIdGenerator } from '../ids.ts';
import { createDataSourceService, type DataSourceService } from './data-source-service.ts';

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => (e instanceof DakkioError ? e.code : String(e)),
  );

describe('data-source service', () => {
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

  it('manages data sources with metadata', async () => {
    const b = await buckets.create(alice, { name: 'a' });
    const s = await sources.create(alice, b.id, { name: 'probe', metadata: { floor: 2, tags: ['x'] } });
    expect(s).toEqual({
      id: s.id,
      bucketId: b.id,
      name: 'probe',
      description: null,
      metadata: { floor: 2, tags: ['x'] },
      createdAt: env.clock.now(),
      lastSeenAt: null,
    });
    const u = await sources.update(alice, b.id, s.id, { metadata: {}, description: 'd' });
    expect(await sources.get(alice, b.id, s.id)).toEqual(u);
    expect(u).toMatchObject({ metadata: {}, description: 'd' });
    expect(await sources.countByOwner(alice)).toBe(1);
  });

  it('deleting a data source deletes its readings only', async () => {
    const b = await buckets.create(alice, { name: 'a' });
    const s1 = await sources.create(alice, b.id, { name: 's1' });
    const s2 = await sources.create(alice, b.id, { name: 's2' });
    const ts = env.clock.now();
    await env.readingStore.write([
      { bucketId: b.id, dataSourceId: s1.id, metric: 't', ts, value: 1 },
      { bucketId: b.id, dataSourceId: s2.id, metric: 't', ts, value: 2 },
    ]);
    await sources.delete(alice, b.id, s1.id);
    expect(await codeOf(sources.get(alice, b.id, s1.id))).toBe('not_found');
    const latest = await env.readingStore.latest(b.id);
    expect(latest.map((l) => l.dataSourceId)).toEqual([s2.id]);
    expect(env.published).toContainEqual({ type: 'data-source.deleted', bucketId: b.id, dataSourceId: s1.id });
  });
});
