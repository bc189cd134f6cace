/**
 * Deletes on QuestDB, which has no DELETE statement. Chosen approach:
 * - rows are tombstoned with `UPDATE … SET kind = 'x'` (UPDATE is supported on WAL
 *   tables and is applied in WAL order, after the writes that preceded it); every
 *   read filters tombstones out, and a later write of the same key replaces the
 *   tombstone through DEDUP UPSERT, exactly like a fresh insert on SQLite;
 * - retention also reclaims space: whole day partitions older than both the cutoff
 *   and the oldest live row of every other bucket are dropped with
 *   `ALTER TABLE … DROP PARTITION WHERE ts < …`.
 * Tombstoned rows in partitions that still hold live rows stay on disk until their
 * day expires for every bucket.
 */
import { DELETED_KIND, assertTableName } from './questdb-schema.ts';
import { isoParam, type QuestDbSql } from './questdb-sql.ts';

const DAY_MS = 86_400_000;

export async function deleteBucket(sql: QuestDbSql, table: string, bucketId: string): Promise<void> {
  const t = assertTableName(table);
  await sql.query(`UPDATE ${t} SET kind = '${DELETED_KIND}' WHERE bucket = $1 AND kind != '${DELETED_KIND}'`, [bucketId]);
}

export async function deleteDataSource(sql: QuestDbSql, table: string, bucketId: string, dataSourceId: string): Promise<void> {
  const t = assertTableName(table);
  await sql.query(
    `UPDATE ${t} SET kind = '${DELETED_KIND}' WHERE bucket = $1 AND source = $2 AND kind != '${DELETED_KIND}'`,
    [bucketId, dataSourceId],
  );
}

/** Returns the day boundary below which whole partitions were dropped (null when none could be). */
export async function deleteBefore(sql: QuestDbSql, table: string, bucketId: string, cutoffMs: number): Promise<number | null> {
  const t = assertTableName(table);
  await sql.query(
    `UPDATE ${t} SET kind = '${DELETED_KIND}' WHERE bucket = $1 AND ts < $2 AND kind != '${DELETED_KIND}'`,
    [bucketId, isoParam(cutoffMs)],
  );
  const rows = await sql.query(`SELECT min(ts) oldest FROM ${t} WHERE bucket != $1 AND kind != '${DELETED_KIND}'`, [bucketId]);
  const oldestOther = rows[0]?.oldest;
  let limit = Math.floor(cutoffMs / DAY_MS) * DAY_MS;
  if (typeof oldestOther === 'number') limit = Math.min(limit, Math.floor(oldestOther / DAY_MS) * DAY_MS);
  const existing = await sql.query(`SELECT min(ts) first FROM ${t} WHERE ts < $1`, [isoParam(limit)]);
  if (typeof existing[0]?.first !== 'number') return null;
  await sql.query(`ALTER TABLE ${t} DROP PARTITION WHERE ts < $1`, [isoParam(limit)]);
  return limit;
}
