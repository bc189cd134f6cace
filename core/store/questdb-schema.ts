/**
 * The QuestDB `readings` table: one narrow row per (ts, bucket, source, metric).
 * `kind` says how the value is held — 'n' number in `num`, 'b' boolean as 1/0 in
 * `num` (so it reads back as a boolean), 's' string in `str`, 'x' deleted. QuestDB
 * has no DELETE, so deletes mark rows 'x' with UPDATE (see questdb-retention.ts).
 *
 * `series` is an indexed symbol holding one key per (bucket, source, metric): a query
 * for a few named series reads their rows through the index instead of scanning the
 * symbol columns of every row in range (30-day aggregate of one series on 10 M rows:
 * ~3,334 rows read instead of 10 M). Tables made before it get the column, its index
 * and the keys of their old rows from questdb-migration.ts.
 */
import { DakkioError } from '../errors.ts';
import type { ReadingValue } from '../readings.ts';

export const DEFAULT_QUESTDB_TABLE = 'readings';
/** Table names are interpolated into SQL (identifiers can't be bound), so only this shape is accepted. */
export const QUESTDB_TABLE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export type ValueKind = 'n' | 'b' | 's';
export const DELETED_KIND = 'x';

export function assertTableName(table: string): string {
  if (!QUESTDB_TABLE_PATTERN.test(table)) {
    throw new DakkioError('validation_failed', `invalid QuestDB table name: ${JSON.stringify(table)}`);
  }
  return table;
}

export function createTableSql(table: string): string {
  const t = assertTableName(table);
  return `CREATE TABLE IF NOT EXISTS ${t} (
    ts TIMESTAMP,
    bucket SYMBOL,
    source SYMBOL,
    metric SYMBOL,
    kind SYMBOL,
    num DOUBLE,
    str VARCHAR,
    series SYMBOL NOCACHE INDEX
  ) TIMESTAMP(ts) PARTITION BY DAY WAL
  DEDUP UPSERT KEYS(ts, bucket, source, metric)`;
}

/** Column that holds the per-series key (NOCACHE: one value per series, too many to keep on the JVM heap). */
export const SERIES_COLUMN = 'series';

// '%' and '/' are escaped in each part, so the key is injective for any strings:
// a query by key never matches another series, whatever characters ids or metrics hold.
const keyPart = (s: string): string => (/[%/]/.test(s) ? s.replace(/%/g, '%25').replace(/\//g, '%2F') : s);

/** The `series` value of a (bucket, source, metric): `bucket/source/metric`, each part escaped. */
export function seriesKey(bucketId: string, dataSourceId: string, metric: string): string {
  return `${keyPart(bucketId)}/${keyPart(dataSourceId)}/${keyPart(metric)}`;
}

/** The same key computed by QuestDB from a row's columns (backfill of tables made before the column). */
export function seriesKeySql(): string {
  const part = (col: string) => `replace(replace(${col}, '%', '%25'), '/', '%2F')`;
  return `concat(${part('bucket')}, '/', ${part('source')}, '/', ${part('metric')})`;
}

export interface EncodedValue {
  kind: ValueKind;
  num: number | null;
  str: string | null;
}

export function encodeValue(value: ReadingValue): EncodedValue {
  if (typeof value === 'number') return { kind: 'n', num: value, str: null };
  if (typeof value === 'boolean') return { kind: 'b', num: value ? 1 : 0, str: null };
  return { kind: 's', num: null, str: value };
}

export function decodeValue(kind: string, num: number | null, str: string | null): ReadingValue {
  if (kind === 'b') return num === 1;
  if (kind === 's') return str ?? '';
  return num ?? Number.NaN;
}
