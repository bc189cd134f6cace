/**
 * ReadingStore on a QuestDB server: ILP/HTTP writes, SQL reads over PG wire, and a
 * local SQLite spool that keeps ingest acknowledged while QuestDB is unreachable.
 *
 * Ordering rule: while the spool holds anything, new writes go behind it (never
 * around it), so a replay can't overwrite a newer value with an older one; a single
 * lock serializes direct writes, drain batches and deletes for the same reason.
 * Reads refuse with 'store_unavailable' while anything is spooled, so a query never
 * returns data with acknowledged points missing.
 */
import type { Clock } from '../clock.ts';
import { DakkioError, isDakkioError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ReadingStore, ReadingStoreHealth } from '../ports/reading-store.ts';
import type { ReadingPoint } from '../readings.ts';
import * as reader from './questdb-reader.ts';
import * as retention from './questdb-retention.ts';
import { createSeriesKeying, ensureSchema } from './questdb-migration.ts';
import { DEFAULT_QUESTDB_TABLE, assertTableName, encodeValue } from './questdb-schema.ts';
import { createSpoolDrainer } from './questdb-drainer.ts';
import { openQuestDbSpool } from './questdb-spool.ts';
import { createQuestDbSql, toStoreError } from './questdb-sql.ts';
import { waitForWalApply } from './questdb-wal.ts';
import { createQuestDbWriter, type EncodedPoint, isUnreachable } from './questdb-writer.ts';

const encodePoint = (p: ReadingPoint): EncodedPoint => ({
  bucketId: p.bucketId,
  dataSourceId: p.dataSourceId,
  metric: p.metric,
  ts: p.ts,
  ...encodeValue(p.value),
});

export interface QuestDbReadingStoreOptions {
  /** QuestDB's HTTP endpoint (ILP/HTTP writes, /ping), e.g. http://127.0.0.1:9000 */
  httpUrl: string;
  /** PG-wire endpoint for reads; defaults to the HTTP host on port 8812 with QuestDB's default credentials. */
  pgUrl?: string;
  logger: Logger;
  clock: Clock;
  /** SQLite file of the local spool (in the data dir). */
  spoolPath: string;
  /** Bound of the spool; writes beyond it reject with 'spool_full'. Default 1,000,000. */
  spoolMaxPoints?: number;
  /** Table name (tests use a fresh one); default `readings`. */
  table?: string;
  /** Pause between drain attempts while QuestDB is unreachable. Default 1000 ms. */
  drainRetryMs?: number;
  /** Points per replayed ILP request. Default 5000. */
  drainBatch?: number;
  /** How long the ILP client retries one request before the write spools. Default 3000 ms. */
  writeRetryTimeoutMs?: number;
  /** Rows per ILP/HTTP request (bigger writes are split). Default 50,000. */
  rowsPerRequest?: number;
  /** Upper bound on waiting for WAL apply before a read (then it reads with lag). Default 10 s. */
  walApplyTimeoutMs?: number;
  /**
   * false: reads never use the series index and old rows are not keyed — the scan path
   * a table takes until its migration is done (tests run the contract on both). Default true.
   */
  seriesIndex?: boolean;
}

export interface QuestDbReadingStore extends ReadingStore {
  /** Points waiting in the local spool. */
  spoolDepth(): number;
  /** Resolves true once every row has its series key and reads use the index. */
  seriesKeysReady(): Promise<boolean>;
}

export async function createQuestDbReadingStore(options: QuestDbReadingStoreOptions): Promise<QuestDbReadingStore> {
  const table = assertTableName(options.table ?? DEFAULT_QUESTDB_TABLE);
  const logger = options.logger.child({ component: 'questdb-store', table });
  const spoolMax = options.spoolMaxPoints ?? 1_000_000;
  const drainRetryMs = options.drainRetryMs ?? 1_000;
  const drainBatch = options.drainBatch ?? 5_000;
  const walTimeout = options.walApplyTimeoutMs ?? 10_000;
  const http = new URL(options.httpUrl);
  const pgUrl = options.pgUrl ?? `postgres://admin:quest@${http.hostname}:8812/qdb`;

  const spool = openQuestDbSpool(options.spoolPath);
  const sql = createQuestDbSql(pgUrl, logger);
  const writer = await createQuestDbWriter({
    httpUrl: options.httpUrl,
    table,
    logger,
    retryTimeoutMs: options.writeRetryTimeoutMs ?? 3_000,
    ...(options.rowsPerRequest ? { rowsPerRequest: options.rowsPerRequest } : {}),
  });

  let schemaReady = false;
  /** Reads use the series index once every row has its key (see questdb-migration.ts). */
  const target: reader.ReadTarget = { table, keyed: false };
  let reachable = true;
  let closed = false;
  /** Bumped on every acknowledged change; reads wait for WAL apply while it moved. */
  let changeGen = 0;
  let appliedGen = 0;
  let lock: Promise<unknown> = Promise.resolve();

  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = lock.then(fn, fn);
    lock = run.catch(() => {});
    return run;
  };

  const keying = createSeriesKeying({
    sql,
    table,
    logger,
    clock: options.clock,
    walApplyTimeoutMs: walTimeout,
    enabled: options.seriesIndex !== false,
    isClosed: () => closed,
    onKeyed: () => {
      target.keyed = true;
    },
  });

  const ensureSchemaOnce = async () => {
    if (schemaReady) return;
    await ensureSchema(sql, table);
    schemaReady = true;
    keying.soon();
  };

  const markDown = (e: unknown) => {
    if (reachable) logger.warn({ err: (e as Error)?.message }, 'questdb unreachable; spooling writes locally');
    reachable = false;
  };

  const toSpool = (points: readonly ReadingPoint[]) => {
    if (spool.depth() + points.length > spoolMax) {
      throw new DakkioError('spool_full', `QuestDB is unreachable and the local spool is full (${spool.depth()} points)`, {
        retryAfterSeconds: 5,
      });
    }
    // encoded into the spool's columns only here: the direct path sends ReadingPoints as they are
    spool.append(points.map(encodePoint));
    drainer.schedule(0);
  };

  const drainer = createSpoolDrainer({
    spool,
    writer,
    logger,
    batchSize: drainBatch,
    retryMs: drainRetryMs,
    serialized,
    ensureSchema: ensureSchemaOnce,
    onReplayed: () => {
      changeGen++;
    },
    onReachability: (up, error) => {
      if (!up) return markDown(error);
      if (!reachable) logger.info({}, 'questdb reachable again');
      reachable = true;
    },
  });

  try {
    await ensureSchemaOnce();
  } catch (e) {
    if (!isUnreachable(e)) {
      await drainer.close();
      await writer.close().catch(() => {});
      await sql.close();
      spool.close();
      throw e;
    }
    // Starting while QuestDB is down is allowed: ingest spools, the drainer creates the schema later.
    markDown(e);
  }
  if (spool.depth() > 0) {
    logger.info({ spoolDepth: spool.depth() }, 'spool not empty at start-up; draining');
    drainer.schedule(0);
  }

  const readable = async () => {
    if (closed) throw new DakkioError('store_unavailable', 'QuestDB store is closed');
    if (spool.depth() > 0) {
      throw new DakkioError(
        'store_unavailable',
        `QuestDB is unreachable or catching up (${spool.depth()} readings spooled locally)`,
        { retryAfterSeconds: 5 },
      );
    }
    await ensureSchemaOnce();
    keying.soon();
    const gen = changeGen;
    if (gen !== appliedGen) {
      await waitForWalApply(sql, table, logger, walTimeout);
      appliedGen = gen;
    }
  };

  const read = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      await readable();
      return await fn();
    } catch (e) {
      throw toStoreError(e, 'read');
    }
  };

  /** Deletes run in the write order and never ahead of spooled points they would miss. */
  const mutate = (fn: () => Promise<unknown>): Promise<void> =>
    serialized(async () => {
      await readable();
      await fn();
      changeGen++;
    }).catch((e) => {
      throw toStoreError(e, 'delete');
    });

  return {
    spoolDepth: () => spool.depth(),

    write(points: readonly ReadingPoint[]): Promise<void> {
      if (points.length === 0) return Promise.resolve();
      return serialized(async () => {
        if (closed) throw new DakkioError('store_unavailable', 'QuestDB store is closed');
        if (!reachable || !schemaReady || spool.depth() > 0) {
          toSpool(points);
          return;
        }
        try {
          await writer.send(points);
          changeGen++;
        } catch (e) {
          if (!isUnreachable(e)) throw isDakkioError(e) ? e : new DakkioError('internal', `QuestDB refused the write: ${(e as Error).message}`, { cause: e });
          markDown(e);
          toSpool(points);
        }
      });
    },

    seriesKeysReady: async () => {
      await keying.running();
      return target.keyed;
    },

    queryRaw: (q) => read(() => reader.queryRaw(sql, target, q)),
    queryAggregate: (q) => read(() => reader.queryAggregate(sql, target, q)),
    async *streamRaw(q) {
      try {
        await readable();
        yield* reader.streamRaw(sql, target, q);
      } catch (e) {
        throw toStoreError(e, 'stream');
      }
    },
    latest: (bucketId, dataSourceId) => read(() => reader.latest(sql, target, bucketId, dataSourceId)),
    stats: (bucketId) => read(() => reader.stats(sql, table, bucketId)),
    countReadings: (bucketIds, sinceMs) => read(() => reader.countReadings(sql, table, bucketIds, sinceMs)),

    deleteBucket: (bucketId) => mutate(() => retention.deleteBucket(sql, table, bucketId)),
    deleteDataSource: (bucketId, dataSourceId) => mutate(() => retention.deleteDataSource(sql, table, bucketId, dataSourceId)),
    deleteBefore: (bucketId, cutoffMs) =>
      mutate(async () => {
        // The partition check below must see every acknowledged row of other buckets.
        await waitForWalApply(sql, table, logger, walTimeout);
        const dropped = await retention.deleteBefore(sql, table, bucketId, cutoffMs);
        if (dropped !== null) logger.info({ bucketId, before: dropped }, 'dropped expired day partitions');
      }),

    async health(): Promise<ReadingStoreHealth> {
      if (closed) return { ok: false, state: 'down', detail: { closed: true } };
      const spoolDepth = spool.depth();
      let up = false;
      try {
        const res = await fetch(new URL('/ping', options.httpUrl), { signal: AbortSignal.timeout(2_000) });
        await res.body?.cancel();
        up = res.ok;
      } catch {
        up = false;
      }
      const checkedAt = options.clock.now();
      if (!up) {
        return {
          ok: false,
          state: spoolDepth >= spoolMax ? 'down' : 'degraded',
          detail: { questdb: 'unreachable', spoolDepth, spoolMaxPoints: spoolMax, checkedAt },
        };
      }
      if (spoolDepth > 0 || !reachable) {
        drainer.schedule(0);
        return { ok: true, state: 'degraded', detail: { questdb: 'reachable', spoolDepth, spoolMaxPoints: spoolMax, checkedAt } };
      }
      return { ok: true, state: 'ok', detail: { questdb: 'reachable', spoolDepth: 0, checkedAt } };
    },

    async close() {
      if (closed) return;
      closed = true;
      await keying.running();
      await drainer.close();
      await lock;
      await writer.close().catch((e) => logger.warn({ err: (e as Error).message }, 'questdb writer close failed'));
      await sql.close();
      spool.close();
    },
  };
}
