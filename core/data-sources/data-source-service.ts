import type { Clock } from '../clock.ts';
import { notFound } from '../errors.ts';
import { type IdGenerator, isId } from '../ids.ts';
import { buildPage, type Page, type PageRequest, resolvePage } from '../pagination.ts';
import type { EventBus } from '../ports/event-bus.ts';
import type { ReadingStore } from '../ports/reading-store.ts';
import type { MetadataDb } from '../store/metadata/sqlite-metadata-db.ts';
import type { DataSourcesTable } from '../store/metadata/tables.ts';

/** Times are epoch ms. */
export type DataSourceView = {
  id: string;
  bucketId: string;
  name: string;
  description: string | null;
  metadata: Record<string, unknown>;
  createdAt: number;
  lastSeenAt: number | null;
};

export interface DataSourceServiceOptions {
  db: MetadataDb;
  clock: Clock;
  ids: IdGenerator;
  events: EventBus;
  readingStore: ReadingStore;
}

export interface DataSourcePatch {
  name?: string;
  description?: string | null;
  metadata?: Record<string, unknown>;
}

export interface DataSourceService {
  list(ownerId: string, bucketId: string, page: PageRequest): Promise<Page<DataSourceView>>;
  create(
    ownerId: string,
    bucketId: string,
    input: { name: string; description?: string | null; metadata?: Record<string, unknown> },
  ): Promise<DataSourceView>;
  /** A bucket or source of another owner is not_found, never forbidden. */
  get(ownerId: string, bucketId: string, id: string): Promise<DataSourceView>;
  update(ownerId: string, bucketId: string, id: string, patch: DataSourcePatch): Promise<DataSourceView>;
  /** Deletes the source and its readings; publishes data-source.deleted. */
  delete(ownerId: string, bucketId: string, id: string): Promise<void>;
  countByOwner(ownerId: string): Promise<number>;
}

export function toDataSourceView(row: DataSourcesTable): DataSourceView {
  return {
    id: row.id,
    bucketId: row.bucket_id,
    name: row.name,
    description: row.description,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    createdAt: Number(row.created_at),
    lastSeenAt: row.last_seen_at === null ? null : Number(row.last_seen_at),
  };
}

export function createDataSourceService(opts: DataSourceServiceOptions): DataSourceService {
  const { db, clock, ids, events, readingStore } = opts;

  async function ownedBucket(ownerId: string, bucketId: string): Promise<void> {
    if (!isId(bucketId)) throw notFound('bucket');
    const row = await db
      .selectFrom('buckets')
      .select('id')
      .where('id', '=', bucketId)
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
    if (!row) throw notFound('bucket');
  }

  async function owned(ownerId: string, bucketId: string, id: string): Promise<DataSourcesTable> {
    await ownedBucket(ownerId, bucketId);
    if (!isId(id)) throw notFound('data source');
    const row = await db
      .selectFrom('data_sources')
      .selectAll()
      .where('id', '=', id)
      .where('bucket_id', '=', bucketId)
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
    if (!row) throw notFound('data source');
    return row;
  }

  return {
    async list(ownerId, bucketId, page) {
      const { afterId, limit } = resolvePage(page);
      await ownedBucket(ownerId, bucketId);
      let q = db.selectFrom('data_sources').selectAll().where('bucket_id', '=', bucketId);
      if (afterId) q = q.where('id', '>', afterId);
      return buildPage(await q.orderBy('id').limit(limit + 1).execute(), limit, toDataSourceView);
    },

    async create(ownerId, bucketId, input) {
      await ownedBucket(ownerId, bucketId);
      const row: DataSourcesTable = {
        id: ids(),
        bucket_id: bucketId,
        owner_id: ownerId,
        name: input.name.trim(),
        description: input.description ?? null,
        metadata: JSON.stringify(input.metadata ?? {}),
        created_at: clock.now(),
        last_seen_at: null,
      };
      await db.insertInto('data_sources').values(row).execute();
      return toDataSourceView(row);
    },

    get: async (ownerId, bucketId, id) => toDataSourceView(await owned(ownerId, bucketId, id)),

    async update(ownerId, bucketId, id, patch) {
      const row = await owned(ownerId, bucketId, id);
      const set: Partial<DataSourcesTable> = {};
      if (patch.name !== undefined) set.name = patch.name.trim();
      if (patch.description !== undefined) set.description = patch.description;
      if (patch.metadata !== undefined) set.metadata = JSON.stringify(patch.metadata);
      if (Object.keys(set).length > 0) await db.updateTable('data_sources').set(set).where('id', '=', id).execute();
      return toDataSourceView({ ...row, ...set });
    },

    async delete(ownerId, bucketId, id) {
      await owned(ownerId, bucketId, id);
      await readingStore.deleteDataSource(bucketId, id);
      await db.deleteFrom('data_sources').where('id', '=', id).execute();
      await events.publish({ type: 'data-source.deleted', bucketId, dataSourceId: id });
    },

    async countByOwner(ownerId) {
      const r = await db
        .selectFrom('data_sources')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('owner_id', '=', ownerId)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
  };
}
