import { LRUCache } from 'lru-cache';
import type { Clock } from './clock.ts';
import { isId } from './ids.ts';
import type { Logger } from './logger.ts';
import type { EventBus } from './ports/event-bus.ts';
import type { ResourceDirectory } from './ports/resource-directory.ts';
import type { MetadataDb } from './store/metadata/sqlite-metadata-db.ts';

export interface ResourceDirectoryOptions {
  db: MetadataDb;
  events: EventBus;
  clock: Clock;
  logger: Logger;
  /** how often coalesced lastSeenAt values are written (default 1000 ms) */
  flushMs?: number;
  /**
   * The periodic flush skips a source whose lastSeenAt was written less than this long
   * before its pending value (default 60,000 ms); flush() and close() write everything.
   * At 3,000 live sources a write per source per second cost ~6% of ingest CPU.
   */
  seenIntervalMs?: number;
  /**
   * Sources the periodic flush writes at most (default 200; more when that could not write
   * every source within half of seenIntervalMs); the rest stay pending for the next period.
   * Each update is one Kysely query (~20 µs), run back to back in one transaction without
   * yielding to I/O, so 3,000 sources coming due together (first seen together, then every
   * 60 s) held the event loop ~70 ms, long enough to show in the PUBACK tail. flush() and
   * close() still write everything.
   */
  maxPerFlush?: number;
  /** buckets kept in the cache (default 100,000) */
  cacheMax?: number;
}

export interface ResourceDirectoryHandle extends ResourceDirectory {
  /** Writes pending lastSeenAt values now. */
  flush(): Promise<void>;
  /** Idempotent; flushes. */
  close(): Promise<void>;
}

interface BucketEntry {
  ownerId: string;
  /** sources known to exist; absent ones are asked of the store again */
  sources: Set<string>;
}

/**
 * Only positive answers are cached: nothing announces a *new* bucket or source,
 * so a cached "does not exist" would hide one. Deletions arrive as events
 * (bucket.deleted, data-source.deleted, owner.deleted), on every node once the
 * EventBus is clustered.
 */
export function createResourceDirectory(opts: ResourceDirectoryOptions): ResourceDirectoryHandle {
  const { db, events, logger } = opts;
  const buckets = new LRUCache<string, BucketEntry>({ max: opts.cacheMax ?? 100_000 });
  // Bumped by every deletion, so a lookup that raced one does not cache a stale "exists".
  let epoch = 0;
  let pending = new Map<string, { bucketId: string; dataSourceId: string; at: number }>();
  // lastSeenAt last written per source; bounded: an evicted source is merely written again
  const written = new LRUCache<string, number>({ max: opts.cacheMax ?? 100_000 });
  const seenIntervalMs = opts.seenIntervalMs ?? 60_000;
  const maxPerFlush = opts.maxPerFlush ?? 200;
  const flushMs = opts.flushMs ?? 1000;
  let flushing: Promise<void> = Promise.resolve();
  let closed = false;

  const unsubscribe = [
    events.subscribe('bucket.deleted', (e) => {
      epoch++;
      buckets.delete(e.bucketId);
    }),
    events.subscribe('data-source.deleted', (e) => {
      epoch++;
      buckets.get(e.bucketId)?.sources.delete(e.dataSourceId);
    }),
    events.subscribe('owner.deleted', (e) => {
      epoch++;
      for (const [id, entry] of buckets.entries()) if (entry.ownerId === e.ownerId) buckets.delete(id);
    }),
  ];

  async function writeOut(all: boolean): Promise<void> {
    if (pending.size === 0) return;
    let batch = pending;
    pending = new Map();
    if (!all) {
      const due: typeof batch = new Map();
      const limit = Math.max(maxPerFlush, Math.ceil((2 * batch.size * flushMs) / seenIntervalMs));
      for (const [k, v] of batch) {
        const last = written.get(k);
        if (due.size < limit && (last === undefined || v.at - last >= seenIntervalMs)) due.set(k, v);
        else pending.set(k, v); // kept for a later flush (first in line: pending was empty)
      }
      batch = due;
      if (batch.size === 0) return;
    }
    try {
      await db.transaction().execute(async (trx) => {
        for (const { bucketId, dataSourceId, at } of batch.values()) {
          await trx
            .updateTable('data_sources')
            .set({ last_seen_at: at })
            .where('id', '=', dataSourceId)
            .where('bucket_id', '=', bucketId)
            .where((eb) => eb.or([eb('last_seen_at', 'is', null), eb('last_seen_at', '<', at)]))
            .execute();
        }
      });
      for (const [k, v] of batch) written.set(k, v.at);
    } catch (err) {
      for (const [k, v] of batch) if ((pending.get(k)?.at ?? 0) < v.at) pending.set(k, v);
      logger.warn({ err }, 'could not store data source lastSeenAt');
    }
  }

  function flush(all = true): Promise<void> {
    flushing = flushing.then(() => writeOut(all));
    return flushing;
  }

  const timer = setInterval(() => void flush(false), flushMs);
  timer.unref();

  return {
    cachedBucketOwner: (bucketId) => buckets.get(bucketId)?.ownerId,
    knownSource: (bucketId, dataSourceId) => buckets.get(bucketId)?.sources.has(dataSourceId) === true,

    async bucketOwner(bucketId) {
      const cached = buckets.get(bucketId);
      if (cached) return cached.ownerId;
      if (!isId(bucketId)) return null;
      const startEpoch = epoch;
      const row = await db.selectFrom('buckets').select('owner_id').where('id', '=', bucketId).executeTakeFirst();
      if (!row) return null;
      if (epoch === startEpoch) buckets.set(bucketId, { ownerId: row.owner_id, sources: new Set() });
      return row.owner_id;
    },

    async sourceExists(bucketId, dataSourceId) {
      if (buckets.get(bucketId)?.sources.has(dataSourceId)) return true;
      if (!isId(bucketId) || !isId(dataSourceId)) return false;
      const startEpoch = epoch;
      const row = await db
        .selectFrom('data_sources')
        .innerJoin('buckets', 'buckets.id', 'data_sources.bucket_id')
        .select('buckets.owner_id')
        .where('data_sources.id', '=', dataSourceId)
        .where('data_sources.bucket_id', '=', bucketId)
        .executeTakeFirst();
      if (!row) return false;
      if (epoch === startEpoch) {
        let entry = buckets.get(bucketId);
        if (!entry) {
          entry = { ownerId: row.owner_id, sources: new Set() };
          buckets.set(bucketId, entry);
        }
        entry.sources.add(dataSourceId);
      }
      return true;
    },

    markSourcesSeen(bucketId, dataSourceIds, at) {
      if (closed) return;
      for (const dataSourceId of dataSourceIds) {
        const k = `${bucketId}/${dataSourceId}`;
        const prev = pending.get(k);
        // updated in place: called for every stored message, so no new entry per call
        if (!prev) pending.set(k, { bucketId, dataSourceId, at });
        else if (prev.at < at) prev.at = at;
      }
    },

    flush: () => flush(),

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      for (const u of unsubscribe) u();
      await flush();
      buckets.clear();
    },
  };
}
