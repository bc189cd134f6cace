import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../core/auth/testing/fixture.ts';
import { createBucketService } from '../core/buckets/bucket-service.ts';
import { createDataSourceService, type DataSourceService } from '../core/data-sources/data-source-service.ts';
import { isDakkioError } from '../core/errors.ts';
import { insertUser } from './testing/users.ts';
import { createTopicMappingService, type TopicMappingService } from './topic-mapping-service.ts';
import { createTopicTrie } from './topic-trie.ts';
import { topicMatches } from './topic-filter.ts';

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return isDakkioError(e) ? e.code : String(e);
  }
};

describe('topic trie', () => {
  it('agrees with topicMatches on a table of filters and topics, in insertion order', () => {
    const filters = ['#', '+', 'a/#', 'a/+', 'a/b', '+/b', 'a/+/c', '+/+/+', '$SYS/#', '$SYS/+/x', 'a/b/#', '/+', '+/'];
    const topics = ['a', 'a/b', 'a/b/c', 'b/b', '$SYS/a/x', '$SYS', '/x', 'x/', 'a/x/c', 'a//c'];
    const trie = createTopicTrie<string>();
    for (const f of filters) trie.add(f, f);
    for (const t of topics) expect(trie.match(t), t).toEqual(filters.filter((f) => topicMatches(f, t)));
    expect(trie.size).toBe(filters.length);
  });

  it('stays a lookup, not a scan, with thousands of mappings', () => {
    const trie = createTopicTrie<number>();
    for (let i = 0; i < 5000; i++) trie.add(`site${i}/+/temperature`, i);
    expect(trie.match('site4321/room/temperature')).toEqual([4321]);
    expect(trie.match('site4321/room/humidity')).toEqual([]);
  });
});

describe('topic mapping service', () => {
  let env: TestEnv;
  let svc: TopicMappingService;
  let sources: DataSourceService;
  let owner: string;
  let other: string;
  let bucketId: string;

  beforeEach(async () => {
    env = await createTestEnv();
    const deps = { db: env.db, clock: env.clock, ids: env.ids, events: env.events, readingStore: env.readingStore };
    sources = createDataSourceService(deps);
    svc = createTopicMappingService({ ...deps, dataSources: sources });
    owner = await insertUser(env, 'owner@example.com');
    other = await insertUser(env, 'other@example.com');
    bucketId = (await createBucketService(deps).create(owner, { name: 'home' })).id;
  });
  afterEach(async () => {
    await svc.close();
    await env.close();
  });

  it('maps home/livingroom/temperature 22.5 to metric temperature of source livingroom, creating it once', async () => {
    await svc.create(owner, { filter: 'home/+/+', bucketId, dataSource: '{2}', metric: '{3}', payload: 'value', createSources: true });
    expect(await svc.match(owner, 'home/livingroom/temperature')).toMatchObject({
      bucketId,
      dataSourceId: null,
      dataSourceName: 'livingroom',
      metric: 'temperature',
      payload: 'value',
      createSources: true,
    });
    const resolved = await Promise.all(Array.from({ length: 10 }, () => svc.resolve(owner, 'home/livingroom/temperature')));
    const ids = new Set(resolved.map((r) => r?.dataSourceId));
    expect(ids.size).toBe(1);
    const list = await sources.list(owner, bucketId, {});
    expect(list.items.map((s) => s.name)).toEqual(['livingroom']);
    const r = resolved[0];
    if (!r) throw new Error('expected a mapping');
    expect(svc.toPoints(r, Buffer.from('22.5\n'), 1000)).toEqual([
      { bucketId, dataSourceId: r.dataSourceId, metric: 'temperature', ts: 1000, value: 22.5 },
    ]);
    // other owners' messages never hit this owner's mappings
    expect(await svc.match(other, 'home/livingroom/temperature')).toBeNull();
    expect(await svc.match(owner, 'home/livingroom')).toBeNull();
  });

  it('without createSources only existing sources (by name or id) are used', async () => {
    const kitchen = await sources.create(owner, bucketId, { name: 'kitchen' });
    await svc.create(owner, { filter: 'h/+/+', bucketId, dataSource: '{2}', metric: '{3}', payload: 'value' });
    expect(await svc.resolve(owner, 'h/garage/t')).toBeNull();
    expect((await svc.resolve(owner, 'h/kitchen/t'))?.dataSourceId).toBe(kitchen.id);
    expect((await svc.resolve(owner, `h/${kitchen.id}/t`))?.dataSourceId).toBe(kitchen.id);
    // a source created later through the API is found (misses are not cached)
    const garage = await sources.create(owner, bucketId, { name: 'garage' });
    expect((await svc.resolve(owner, 'h/garage/t'))?.dataSourceId).toBe(garage.id);
  });

  it('json payloads with a fixed source id; the oldest matching mapping wins; delete takes effect', async () => {
    const meter = await sources.create(owner, bucketId, { name: 'meter' });
    const first = await svc.create(owner, { filter: 'meter/#', bucketId, dataSource: meter.id, payload: 'json' });
    env.clock.advance(1);
    await svc.create(owner, { filter: 'meter/+', bucketId, dataSource: '{2}', metric: 'x', payload: 'value' });
    const r = await svc.resolve(owner, 'meter/main');
    expect(r).toMatchObject({ mappingId: first.id, dataSourceId: meter.id, payload: 'json' });
    if (!r) throw new Error('expected a mapping');
    expect(svc.toPoints(r, Buffer.from('{"power": 12, "on": true, "timestamp": 5000}'), 1)).toEqual([
      { bucketId, dataSourceId: meter.id, metric: 'power', ts: 5000, value: 12 },
      { bucketId, dataSourceId: meter.id, metric: 'on', ts: 5000, value: true },
    ]);
    expect(await codeOf(Promise.resolve().then(() => svc.toPoints(r, Buffer.from('{nope'), 1)))).toBe('invalid_json');
    await svc.delete(owner, first.id);
    expect((await svc.match(owner, 'meter/main'))?.metric).toBe('x');
    expect((await svc.list(owner)).items).toHaveLength(1);
  });

  it('json payload with a metric accepts a bare JSON value', async () => {
    await svc.create(owner, { filter: 'j/+', bucketId, dataSource: '{2}', metric: 'level', payload: 'json', createSources: true });
    const r = await svc.resolve(owner, 'j/tank');
    if (!r) throw new Error('expected a mapping');
    expect(svc.toPoints(r, Buffer.from('42'), 7)).toMatchObject([{ metric: 'level', value: 42, ts: 7 }]);
  });

  it('another node sees new and deleted mappings through the event bus', async () => {
    const deps = { db: env.db, clock: env.clock, ids: env.ids, events: env.events, readingStore: env.readingStore };
    const node2 = createTopicMappingService({ ...deps, dataSources: sources });
    expect(await node2.match(owner, 'n/x')).toBeNull();
    const m = await svc.create(owner, { filter: 'n/+', bucketId, dataSource: '{2}', metric: 'v', payload: 'value' });
    expect(env.published).toContainEqual({ type: 'mqtt-topic-mappings.changed', ownerId: owner });
    expect((await node2.match(owner, 'n/x'))?.mappingId).toBe(m.id);
    await svc.delete(owner, m.id);
    expect(await node2.match(owner, 'n/x')).toBeNull();
    await node2.close();
  });

  it('validates: filter, level references, bucket ownership, fixed source existence', async () => {
    const base = { bucketId, dataSource: '{1}', metric: 'm', payload: 'value' as const };
    expect(await codeOf(svc.create(owner, { ...base, filter: 'a/#/b' }))).toBe('validation_failed');
    expect(await codeOf(svc.create(owner, { ...base, filter: 'a/+', dataSource: '{3}' }))).toBe('validation_failed');
    expect(await codeOf(svc.create(owner, { ...base, filter: 'a/#', dataSource: '{3}' }))).toBe('ok');
    expect(await codeOf(svc.create(owner, { ...base, filter: 'a/+', metric: undefined }))).toBe('validation_failed');
    expect(await codeOf(svc.create(other, { ...base, filter: 'a/+' }))).toBe('not_found');
    expect(await codeOf(svc.create(owner, { ...base, filter: 'a/+', dataSource: env.ids() }))).toBe('not_found');
    const m = (await svc.list(owner)).items[0];
    expect(await codeOf(svc.get(other, m?.id ?? ''))).toBe('not_found');
  });
});
