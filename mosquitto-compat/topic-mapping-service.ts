/**
 * Topic mappings turn messages on a legacy topic tree into readings (API.md
 * "Coming from Mosquitto"): filter `home/+/+` with dataSource "{2}", metric "{3}",
 * payload "value" stores `home/livingroom/temperature 22.5` as metric
 * `temperature` of source `livingroom`. Mappings are per owner; each owner's are
 * held in a topic trie, loaded on first use and rebuilt when they change (on
 * every node: `mqtt-topic-mappings.changed` on the EventBus).
 */
import type { Clock } from '../core/clock.ts';
import type { DataSourceService } from '../core/data-sources/data-source-service.ts';
import { notFound, validationFailed } from '../core/errors.ts';
import { type IdGenerator, isId } from '../core/ids.ts';
import { type CreateTopicMappingInput, createTopicMappingSchema } from '../core/mqtt-compat/schemas.ts';
import { buildPage, type Page, type PageRequest, resolvePage } from '../core/pagination.ts';
import type { EventBus } from '../core/ports/event-bus.ts';
import type { ReadingPoint } from '../core/readings.ts';
import { mappedPayloadToPoints, type ResolvedTopicMapping } from './mapped-payload.ts';
import type { MetadataDb } from '../core/store/metadata/sqlite-metadata-db.ts';
import type { MqttTopicMappingsTable } from '../core/store/metadata/tables.ts';
import { isValidFilter } from './topic-filter.ts';
import { createTopicTrie, type TopicTrie } from './topic-trie.ts';
import { parseOrThrow } from '../core/validation.ts';

export interface TopicMappingView {
  id: string;
  filter: string;
  bucketId: string;
  dataSource: string;
  metric: string | null;
  payload: 'value' | 'json';
  createSources: boolean;
  createdAt: number;
}

/** What a topic maps to, before the data source name is looked up. */
export interface TopicMappingMatch {
  mappingId: string;
  bucketId: string;
  /** set when the mapping names a fixed source id, or the level holds an id */
  dataSourceId: string | null;
  /** the topic level's text when the mapping says "{n}" */
  dataSourceName: string | null;
  metric: string | null;
  payload: 'value' | 'json';
  createSources: boolean;
}

export type { ResolvedTopicMapping };

export interface TopicMappingServiceOptions {
  db: MetadataDb;
  clock: Clock;
  ids: IdGenerator;
  events: EventBus;
  /** creates sources first seen on a mapping with createSources */
  dataSources: Pick<DataSourceService, 'create'>;
}

export interface TopicMappingService {
  list(ownerId: string, page?: PageRequest): Promise<Page<TopicMappingView>>;
  create(ownerId: string, input: CreateTopicMappingInput): Promise<TopicMappingView>;
  get(ownerId: string, id: string): Promise<TopicMappingView>;
  delete(ownerId: string, id: string): Promise<void>;
  /** The oldest (created_at, then id) mapping of this owner whose filter matches, or null. In-memory after the first call. */
  match(ownerId: string, topic: string): Promise<TopicMappingMatch | null>;
  /**
   * match() plus the data source: looked up by name in the bucket (or by id),
   * created when the mapping allows it. null when nothing maps or the source
   * does not exist and may not be created.
   */
  resolve(ownerId: string, topic: string): Promise<ResolvedTopicMapping | null>;
  /** The readings a message carries under a resolved mapping; throws validation_failed / invalid_json. */
  toPoints(mapping: ResolvedTopicMapping, payload: Buffer, receivedAt: number): ReadingPoint[];
  close(): Promise<void>;
}

const LEVEL_REF = /^\{([1-9][0-9]?)\}$/;

export function toMappingView(row: MqttTopicMappingsTable): TopicMappingView {
  return {
    id: row.id,
    filter: row.filter,
    bucketId: row.bucket_id,
    dataSource: row.data_source,
    metric: row.metric,
    payload: row.payload as 'value' | 'json',
    createSources: Number(row.create_sources) === 1,
    createdAt: Number(row.created_at),
  };
}

function levelOf(ref: string, levels: string[]): string | null {
  const m = LEVEL_REF.exec(ref);
  if (!m) return null;
  return levels[Number(m[1]) - 1] ?? '';
}

export function createTopicMappingService(opts: TopicMappingServiceOptions): TopicMappingService {
  const { db, clock, ids, events, dataSources } = opts;
  const tries = new Map<string, Promise<TopicTrie<TopicMappingView>>>();
  /** `${bucketId}\0${name}` → source id; in-flight creations share one promise */
  const sourceIds = new Map<string, Promise<string | null>>();
  const unsubscribers = [
    events.subscribe('data-source.deleted', (e) => {
      for (const [k, v] of sourceIds) {
        if (!k.startsWith(`${e.bucketId}\u0000`)) continue;
        void v.then(
          (id) => {
            if (id === e.dataSourceId) sourceIds.delete(k);
          },
          () => {},
        );
      }
    }),
    events.subscribe('bucket.deleted', (e) => {
      tries.delete(e.ownerId);
      for (const k of sourceIds.keys()) if (k.startsWith(`${e.bucketId}\u0000`)) sourceIds.delete(k);
    }),
    events.subscribe('owner.deleted', (e) => {
      tries.delete(e.ownerId);
    }),
    events.subscribe('mqtt-topic-mappings.changed', (e) => {
      tries.delete(e.ownerId);
    }),
  ];

  function trieFor(ownerId: string): Promise<TopicTrie<TopicMappingView>> {
    let t = tries.get(ownerId);
    if (!t) {
      t = (async () => {
        const rows = await db.selectFrom('mqtt_topic_mappings').selectAll().where('owner_id', '=', ownerId).orderBy('created_at').orderBy('id').execute();
        const trie = createTopicTrie<TopicMappingView>();
        for (const r of rows) trie.add(r.filter, toMappingView(r));
        return trie;
      })();
      t.catch(() => tries.delete(ownerId));
      tries.set(ownerId, t);
    }
    return t;
  }

  async function owned(ownerId: string, id: string): Promise<MqttTopicMappingsTable> {
    if (!isId(id)) throw notFound('topic mapping');
    const row = await db
      .selectFrom('mqtt_topic_mappings')
      .selectAll()
      .where('id', '=', id)
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
    if (!row) throw notFound('topic mapping');
    return row;
  }

  async function sourceByName(ownerId: string, bucketId: string, name: string, create: boolean): Promise<string | null> {
    const key = `${bucketId}\u0000${name}`;
    const cached = sourceIds.get(key);
    if (cached) {
      const id = await cached;
      if (id !== null || !create) return id;
    }
    const lookup = (async () => {
      const row = await db
        .selectFrom('data_sources')
        .select('id')
        .where('bucket_id', '=', bucketId)
        .where((eb) => eb.or([eb('name', '=', name), eb('id', '=', name)]))
        .orderBy('id')
        .executeTakeFirst();
      if (row) return row.id;
      if (!create) return null;
      return (await dataSources.create(ownerId, bucketId, { name })).id;
    })();
    sourceIds.set(key, lookup);
    try {
      const id = await lookup;
      // Misses are not remembered: a source created later through the API must be found.
      if (id === null) sourceIds.delete(key);
      return id;
    } catch (err) {
      sourceIds.delete(key);
      throw err;
    }
  }

  const service: TopicMappingService = {
    async list(ownerId, page) {
      const { afterId, limit } = resolvePage(page);
      let q = db.selectFrom('mqtt_topic_mappings').selectAll().where('owner_id', '=', ownerId);
      if (afterId) q = q.where('id', '>', afterId);
      return buildPage(await q.orderBy('id').limit(limit + 1).execute(), limit, toMappingView);
    },

    async create(ownerId, rawInput) {
      const input = parseOrThrow(createTopicMappingSchema, rawInput, 'request body');
      if (!isValidFilter(input.filter)) {
        throw validationFailed('invalid topic filter', [{ path: 'filter', message: 'invalid MQTT topic filter' }]);
      }
      const levels = input.filter.split('/');
      const openEnded = levels[levels.length - 1] === '#';
      for (const [path, ref] of [['dataSource', input.dataSource], ['metric', input.metric]] as const) {
        const m = ref === undefined ? null : LEVEL_REF.exec(ref);
        if (m && !openEnded && Number(m[1]) > levels.length) {
          throw validationFailed(`${path} refers to a level the filter does not have`, [
            { path, message: `the filter has ${levels.length} levels` },
          ]);
        }
      }
      const bucket = await db
        .selectFrom('buckets')
        .select('id')
        .where('id', '=', input.bucketId)
        .where('owner_id', '=', ownerId)
        .executeTakeFirst();
      if (!bucket) throw notFound('bucket');
      if (!LEVEL_REF.test(input.dataSource)) {
        const src = await db
          .selectFrom('data_sources')
          .select('id')
          .where('id', '=', input.dataSource)
          .where('bucket_id', '=', input.bucketId)
          .executeTakeFirst();
        if (!src) throw notFound('data source');
      }
      const row: MqttTopicMappingsTable = {
        id: ids(),
        owner_id: ownerId,
        filter: input.filter,
        bucket_id: input.bucketId,
        data_source: input.dataSource,
        metric: input.metric ?? null,
        payload: input.payload,
        create_sources: input.createSources ? 1 : 0,
        created_at: clock.now(),
      };
      await db.insertInto('mqtt_topic_mappings').values(row).execute();
      tries.delete(ownerId);
      await events.publish({ type: 'mqtt-topic-mappings.changed', ownerId });
      return toMappingView(row);
    },

    get: async (ownerId, id) => toMappingView(await owned(ownerId, id)),

    async delete(ownerId, id) {
      await owned(ownerId, id);
      await db.deleteFrom('mqtt_topic_mappings').where('id', '=', id).execute();
      tries.delete(ownerId);
      await events.publish({ type: 'mqtt-topic-mappings.changed', ownerId });
    },

    async match(ownerId, topic) {
      const [m] = (await trieFor(ownerId)).match(topic);
      if (!m) return null;
      const levels = topic.split('/');
      const level = levelOf(m.dataSource, levels);
      return {
        mappingId: m.id,
        bucketId: m.bucketId,
        dataSourceId: level === null ? m.dataSource : null,
        dataSourceName: level,
        metric: m.metric === null ? null : (levelOf(m.metric, levels) ?? m.metric),
        payload: m.payload,
        createSources: m.createSources,
      };
    },

    async resolve(ownerId, topic) {
      const m = await service.match(ownerId, topic);
      if (!m) return null;
      let dataSourceId = m.dataSourceId;
      if (dataSourceId === null) {
        const name = m.dataSourceName ?? '';
        if (name === '') return null;
        dataSourceId = await sourceByName(ownerId, m.bucketId, name, m.createSources);
      }
      if (dataSourceId === null) return null;
      return { mappingId: m.mappingId, bucketId: m.bucketId, dataSourceId, metric: m.metric, payload: m.payload };
    },

    toPoints: mappedPayloadToPoints,

    async close() {
      for (const u of unsubscribers) u();
      tries.clear();
      sourceIds.clear();
    },
  };
  return service;
}
