import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTestEnv, type TestEnv } from './auth/testing/fixture.ts';
import { type BucketService, createBucketService } from './buckets/bucket-service.ts';
import { createDataSourceService, type DataSourceService } from './data-sources/data-source-service.ts';
import { createIdGenerator } from './ids.ts';
import { silentLogger } from './logger.ts';
import { createResourceDirectory, type ResourceDirectoryHandle } from './resource-directory.ts';

describe('resource directory', () => {
  let env: TestEnv;
  let buckets: BucketService;
  let sources: DataSourceService;
  let dir: ResourceDirectoryHandle;
  const alice = createIdGenerator()();

  beforeEach(async () => {
    env = await createTestEnv();
    await env.db
      .insertInto('users')
      .values({ id: alice, email: 'a@example.com', name: null, password_hash: 'x', created_at: 0, sessions_valid_after: 0 })
      .execute();
    buckets = createBucketService(env);
    sources = createDataSourceService(env);
    // A flush interval far beyond the test: flushes happen only when asked for.
    dir = createResourceDirectory({ db: env.db, events: env.events, clock: env.clock, logger: silentLogger, flushMs: 3_600_000 });
  });
  afterEach(async () => {
    await dir.close();
    await env.close();
  });

  it('answers from the cache after the first lookup', async () => {
    const b = await buckets.create(alice, { name: 'b' });
    const s = await sources.create(alice, b.id, { name: 's' });
    expect(await dir.bucketOwner(b.id)).toBe(alice);
    expect(await dir.sourceExists(b.id, s.id)).toBe(true);
    env.resetQueryCount();
    for (let i = 0; i < 10; i++) {
      expect(await dir.bucketOwner(b.id)).toBe(alice);
      expect(await dir.sourceExists(b.id, s.id)).toBe(true);
    }
    expect(env.queries.count).toBe(0);
  });

  it('does not cache absence: a bucket or source created later is found', async () => {
    const missing = createIdGenerator()();
    expect(await dir.bucketOwner(missing)).toBeNull();
    expect(await dir.bucketOwner('nonsense')).toBeNull();
    const b = await buckets.create(alice, { name: 'b' });
    expect(await dir.sourceExists(b.id, missing)).toBe(false);
    const s = await sources.create(alice, b.id, { name: 's' });
    expect(await dir.sourceExists(b.id, s.id)).toBe(true);
    // A source is only found in its own bucket.
    const other = await buckets.create(alice, { name: 'other' });
    expect(await dir.sourceExists(other.id, s.id)).toBe(false);
  });

  it('forgets deleted buckets, sources and owners through events', async () => {
    const b = await buckets.create(alice, { name: 'b' });
    const s1 = await sources.create(alice, b.id, { name: 's1' });
    const s2 = await sources.create(alice, b.id, { name: 's2' });
    const b2 = await buckets.create(alice, { name: 'b2' });
    for (const id of [s1.id, s2.id]) expect(await dir.sourceExists(b.id, id)).toBe(true);
    expect(await dir.bucketOwner(b2.id)).toBe(alice);

    await sources.delete(alice, b.id, s1.id);
    expect(await dir.sourceExists(b.id, s1.id)).toBe(false);
    expect(await dir.sourceExists(b.id, s2.id)).toBe(true);

    await buckets.delete(alice, b.id);
    expect(await dir.bucketOwner(b.id)).toBeNull();
    expect(await dir.sourceExists(b.id, s2.id)).toBe(false);

    await env.db.deleteFrom('users').where('id', '=', alice).execute();
    await env.events.publish({ type: 'owner.deleted', ownerId: alice });
    expect(await dir.bucketOwner(b2.id)).toBeNull();
  });

  it('coalesces lastSeenAt into one write per source per flush; close() flushes', async () => {
    const b = await buckets.create(alice, { name: 'b' });
    const s1 = await sources.create(alice, b.id, { name: 's1' });
    const s2 = await sources.create(alice, b.id, { name: 's2' });
    env.resetQueryCount();
    const t0 = env.clock.now();
    for (let i = 0; i < 100; i++) dir.markSourcesSeen(b.id, [s1.id, s2.id], t0 + i);
    dir.markSourcesSeen(b.id, [s1.id], t0 - 5000); // an older time never wins
    expect(env.queries.count).toBe(0);
    await dir.flush();
    expect(env.queries.byKind.get('UpdateQueryNode')).toBe(2);
    expect((await sources.get(alice, b.id, s1.id)).lastSeenAt).toBe(t0 + 99);

    dir.markSourcesSeen(b.id, [s2.id], t0 + 500);
    await dir.close();
    await dir.close();
    expect((await sources.get(alice, b.id, s2.id)).lastSeenAt).toBe(t0 + 500);
  });

  it('the periodic flush rewrites a source only once its lastSeenAt is seenIntervalMs newer; flush() writes it now', async () => {
    const b = await buckets.create(alice, { name: 'b' });
    const s1 = await sources.create(alice, b.id, { name: 's1' });
    const periodic = createResourceDirectory({
      db: env.db,
      events: env.events,
      clock: env.clock,
      logger: silentLogger,
      flushMs: 5,
      seenIntervalMs: 60_000,
    });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const updates = () => env.queries.byKind.get('UpdateQueryNode') ?? 0;
    try {
      const t0 = env.clock.now();
      env.resetQueryCount();
      periodic.markSourcesSeen(b.id, [s1.id], t0);
      await sleep(40); // several periodic flushes
      expect(updates()).toBe(1); // never written before: written by the first one
      periodic.markSourcesSeen(b.id, [s1.id], t0 + 59_999);
      await sleep(40);
      expect(updates()).toBe(1); // within the interval: skipped by the periodic flushes
      expect((await sources.get(alice, b.id, s1.id)).lastSeenAt).toBe(t0);
      periodic.markSourcesSeen(b.id, [s1.id], t0 + 60_000);
      await sleep(40);
      expect(updates()).toBe(2);
      expect((await sources.get(alice, b.id, s1.id)).lastSeenAt).toBe(t0 + 60_000);
      periodic.markSourcesSeen(b.id, [s1.id], t0 + 60_001);
      await periodic.flush(); // an explicit flush (and close) writes what is pending
      expect((await sources.get(alice, b.id, s1.id)).lastSeenAt).toBe(t0 + 60_001);
    } finally {
      await periodic.close();
    }
  });

  it('the periodic flush writes at most maxPerFlush sources, the rest in the next periods; flush() writes all', async () => {
    const b = await buckets.create(alice, { name: 'b' });
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await sources.create(alice, b.id, { name: `s${i}` })).id);
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const periodic = createResourceDirectory({
      db: env.db,
      events: env.events,
      clock: env.clock,
      logger: silentLogger,
      flushMs: 1000,
      maxPerFlush: 3,
    });
    const updates = () => env.queries.byKind.get('UpdateQueryNode') ?? 0;
    try {
      const t0 = env.clock.now();
      env.resetQueryCount();
      periodic.markSourcesSeen(b.id, ids, t0);
      await vi.advanceTimersByTimeAsync(1000);
      expect(updates()).toBe(3);
      await vi.advanceTimersByTimeAsync(1000);
      expect(updates()).toBe(6);
      await vi.advanceTimersByTimeAsync(1000);
      expect(updates()).toBe(7);
      for (const id of ids) expect((await sources.get(alice, b.id, id)).lastSeenAt).toBe(t0);
      // flush() is not capped
      periodic.markSourcesSeen(b.id, ids, t0 + 1);
      await periodic.flush();
      expect(updates()).toBe(14);
    } finally {
      await periodic.close();
      vi.useRealTimers();
    }
  });
});
