/**
 * The QuestDB `readings` table: one narrow row per (ts, bucket, source, metric).
 * `kind` says how the value is held — 'n' number in `num`, 'b' boolean as 1/0 in
 * `num` (so it reads back as a boolean), 's' string in `str`, 'x' deleted. QuestDB
 * has no DELETE, so deletes mark rows 'x' with UPDATE (see questdb-retention.ts).
 */
import { DakkioError } from '../errors.ts';
import type { ReadingValue } from '../readings.ts';
import type { QuestDbSql } from './questdb-sql.ts';

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
    str VARCHAR
  ) TIMESTAMP(ts) PARTITION BY DAY WAL
  DEDUP UPSERT KEYS(ts, bucket, source, metric)`;
}

export async function ensureSchema(sql: QuestDbSql, table: string): Promise<void> {
  await sql.query(createTableSql(table));
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
