import type { Clock } from '../clock.ts';
import { notFound } from '../errors.ts';
import { type IdGenerator, isId } from '../ids.ts';
import { buildPage, type Page, type PageRequest, resolvePage } from '../pagination.ts';
import type { EventBus } from '../ports/event-bus.ts';
import type { ReadingStore } from '../ports/reading-store.ts';
import type { MetadataDb } from '../store/metadata/sqlite-metadata-db.ts';
import type { BucketsTable } from '../store/metadata/tables.ts';

/** Times are epoch ms. */
export type BucketView = {
  id: string;
  name: string;
  description: string | null;
  retentionDays: number | null;
  createdAt: number;
};

export interface BucketServiceOptions {
  db: MetadataDb;
  clock: Clock;
  ids: IdGenerator;
  events: EventBus;
  readingStore: ReadingStore;
}

export interface BucketService {
  list(ownerId: string, page: PageRequest): Promise<Page<BucketView>>;
  create(
    ownerId: string,
    input: { name: string; description?: string | null; retentionDays?: number | null },
  ): Promise<BucketView>;
  /** Another owner's bucket is not_found, never forbidden. */
  get(ownerId: string, id: string): Promise<BucketView>;
  update(
    ownerId: string,
    id: string,
    patch: { name?: string; description?: string | null; retentionDays?: number | null },
  ): Promise<BucketView>;
  /** Deletes the bucket, its data sources and its readings; publishes bucket.deleted. */
  delete(ownerId: string, id: string): Promise<void>;
  /** For the retention job: every bucket with a retention period. */
  listWithRetention(): Promise<{ id: string; retentionDays: number }[]>;
  /** Every bucket id of the owner (analytics overview, cascades). */
  listIds(ownerId: string): Promise<string[]>;
  /** Same as listIds (the name http/deps.ts uses). */
  listIdsByOwner(ownerId: string): Promise<string[]>;
  countByOwner(ownerId: string): Promise<number>;
}

export function toBucketView(row: BucketsTable): BucketView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    retentionDays: row.retention_days === null ? null : Number(row.retention_days),
    createdAt: Number(row.created_at),
  };
}

export function createBucketService(opts: BucketServiceOptions): BucketService {
  const { db, clock, ids, events, readingStore } = opts;

  async function owned(ownerId: string, id: string): Promise<BucketsTable> {
    if (!isId(id)) throw notFound('bucket');
    const row = await db
      .selectFrom('buckets')
      .selectAll()
      .where('id', '=', id)
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
    if (!row) throw notFound('bucket');
    return row;
  }

  async function listIds(ownerId: string): Promise<string[]> {
    const rows = await db.selectFrom('buckets').select('id').where('owner_id', '=', ownerId).orderBy('id').execute();
    return rows.map((r) => r.id);
  }

  return {
    async list(ownerId, page) {
      const { afterId, limit } = resolvePage(page);
      let q = db.selectFrom('buckets').selectAll().where('owner_id', '=', ownerId);
      if (afterId) q = q.where('id', '>', afterId);
      return buildPage(await q.orderBy('id').limit(limit + 1).execute(), limit, toBucketView);
    },

    async create(ownerId, input) {
      const row: BucketsTable = {
        id: ids(),
        owner_id: ownerId,
        name: input.name.trim(),
        description: input.description ?? null,
        retention_days: input.retentionDays ?? null,
        created_at: clock.now(),
      };
      await db.insertInto('buckets').values(row).execute();
      return toBucketView(row);
    },

    get: async (ownerId, id) => toBucketView(await owned(ownerId, id)),

    async update(ownerId, id, patch) {
      const row = await owned(ownerId, id);
      const set: Partial<BucketsTable> = {};
      if (patch.name !== undefined) set.name = patch.name.trim();
      if (patch.description !== undefined) set.description = patch.description;
      if (patch.retentionDays !== undefined) set.retention_days = patch.retentionDays;
      if (Object.keys(set).length > 0) await db.updateTable('buckets').set(set).where('id', '=', id).execute();
      return toBucketView({ ...row, ...set });
    },

    async delete(ownerId, id) {
      await owned(ownerId, id);
      // Readings first: if that fails the bucket is still there and the delete can be retried.
      await readingStore.deleteBucket(id);
      // data_sources rows cascade (foreign key); deleted explicitly too, so a store without FK enforcement agrees.
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('data_sources').where('bucket_id', '=', id).execute();
        await trx.deleteFrom('buckets').where('id', '=', id).execute();
      });
      await events.publish({ type: 'bucket.deleted', bucketId: id, ownerId });
    },

    async listWithRetention() {
      const rows = await db
        .selectFrom('buckets')
        .select(['id', 'retention_days'])
        .where('retention_days', 'is not', null)
        .execute();
      return rows.map((r) => ({ id: r.id, retentionDays: Number(r.retention_days) }));
    },

    listIds,
    listIdsByOwner: listIds,

    async countByOwner(ownerId) {
      const r = await db
        .selectFrom('buckets')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('owner_id', '=', ownerId)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
  };
}
