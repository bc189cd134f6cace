/**
 * Creates the readings table, and brings tables made by earlier versions up to the
 * current schema. Every step is idempotent and safe to re-run after a crash:
 *
 * 1. `CREATE TABLE IF NOT EXISTS` with the current columns (a new table is done here).
 * 2. A table without `series` gets the column, without its index yet. QuestDB refuses a
 *    no-op `ADD COLUMN IF NOT EXISTS` on a WAL table, so table_columns() decides.
 * 3. `keySeries`: rows written before the column get their key, one day partition per
 *    `UPDATE … WHERE series = null`, so a big table is migrated in bounded steps and a
 *    crash resumes with the days still missing keys; then the index is added.
 *
 * The order in 3 matters. On QuestDB 9.3.4 an UPDATE of an *indexed* symbol column whose
 * rows predate the column leaves the index stale: the rows read back with their new key,
 * yet `series = key` through the index finds none of them (and DROP INDEX + ADD INDEX
 * afterwards did not repair it). Keying the column while it has no index and adding the
 * index afterwards builds the index from the final values; questdb-specifics.test.ts
 * checks this against the real server.
 *
 * New writes always carry the key (questdb-ilp-encoder.ts), so the UPDATEs never race
 * them. Until 3 is done, readers keep the filter that scans the symbol columns.
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { SERIES_COLUMN, assertTableName, createTableSql, seriesKeySql } from './questdb-schema.ts';
import { isoParam, type QuestDbSql } from './questdb-sql.ts';
import { waitForWalApply } from './questdb-wal.ts';

const DAY_MS = 86_400_000;

/** Steps 1 and 2: quick, metadata only. */
export async function ensureSchema(sql: QuestDbSql, table: string): Promise<void> {
  const t = assertTableName(table);
  await sql.query(createTableSql(t));
  if (!(await seriesColumn(sql, t))) await sql.query(`ALTER TABLE ${t} ADD COLUMN ${SERIES_COLUMN} SYMBOL NOCACHE`);
}

/** The series column as the table has it now, or null when it has none. */
export async function seriesColumn(sql: QuestDbSql, table: string): Promise<{ indexed: boolean } | null> {
  const t = assertTableName(table);
  const rows = await sql.query(`SELECT indexed FROM table_columns('${t}') WHERE "column" = $1`, [SERIES_COLUMN]);
  return rows[0] ? { indexed: rows[0].indexed === true } : null;
}

/** True when some row has no series key (sees applied WAL transactions only). */
export async function hasUnkeyedRows(sql: QuestDbSql, table: string): Promise<boolean> {
  const t = assertTableName(table);
  const rows = await sql.query(`SELECT ts FROM ${t} WHERE ${SERIES_COLUMN} = null LIMIT 1`);
  return rows.length > 0;
}

export interface KeySeriesDeps {
  sql: QuestDbSql;
  table: string;
  logger: Logger;
  /** Waits until QuestDB applied what the WAL holds; false when it gave up. */
  walApplied: () => Promise<boolean>;
  /** Checked between steps: a closing store stops, the next start resumes. */
  stop: () => boolean;
}

/**
 * Step 3. Resolves true once every row has its key and the column is indexed (reads may
 * use the index), false when it stopped early; throws what QuestDB refused.
 */
export async function keySeries(deps: KeySeriesDeps): Promise<boolean> {
  const { sql, table, logger } = deps;
  const t = assertTableName(table);
  // rows an earlier process acknowledged may still be in the WAL, unkeyed
  if (!(await deps.walApplied())) return false;
  let col = await seriesColumn(sql, t);
  if (!col) return false;
  // ILP writes keep the index exact, so with an index this check can trust it
  if (col.indexed && !(await hasUnkeyedRows(sql, t))) return true;
  if (col.indexed) {
    // unkeyed rows in an indexed table (written by an older dakkio): the UPDATE below
    // needs the column without its index (see the note at the top)
    logger.warn({ table }, 'questdb: rows without series key in an indexed table; re-keying');
    await sql.query(`ALTER TABLE ${t} ALTER COLUMN ${SERIES_COLUMN} DROP INDEX`);
    if (!(await deps.walApplied())) return false;
  }
  if (!(await backfillSeriesKeys(sql, t, logger, deps.stop))) return false;
  if (!(await deps.walApplied()) || (await hasUnkeyedRows(sql, t))) return false;
  await sql.query(`ALTER TABLE ${t} ALTER COLUMN ${SERIES_COLUMN} ADD INDEX`);
  if (!(await deps.walApplied())) return false;
  col = await seriesColumn(sql, t);
  return col?.indexed === true;
}

/**
 * Sets the key of every row that lacks it, one day partition per UPDATE; false when it
 * stopped between two days. The UPDATEs are in the WAL when it returns, not yet applied.
 */
export async function backfillSeriesKeys(
  sql: QuestDbSql,
  table: string,
  logger: Logger,
  stop: () => boolean,
): Promise<boolean> {
  const t = assertTableName(table);
  const days = await sql.query(
    `SELECT ts day, count() n FROM ${t} WHERE ${SERIES_COLUMN} = null SAMPLE BY 1d ALIGN TO CALENDAR`,
  );
  if (days.length === 0) return true;
  logger.info({ table, days: days.length }, 'questdb: adding series keys to rows written before the series index');
  const t0 = Date.now();
  for (const d of days) {
    // a closing store stops between days; the next start resumes with the days left
    if (stop()) return false;
    const day = Number(d.day);
    await sql.query(`UPDATE ${t} SET ${SERIES_COLUMN} = ${seriesKeySql()} WHERE ts >= $1 AND ts < $2 AND ${SERIES_COLUMN} = null`, [
      isoParam(day),
      isoParam(day + DAY_MS),
    ]);
  }
  logger.info({ table, days: days.length, ms: Date.now() - t0 }, 'questdb: series keys added');
  return true;
}

const KEYING_RETRY_MS = 30_000;

export interface SeriesKeying {
  /** Starts step 3 unless it is done, running, or was tried less than 30 s ago. */
  soon(): void;
  /** Settles when the current attempt (if any) has ended. */
  running(): Promise<void>;
}

/**
 * Runs step 3 for a store, beside ingest: new rows carry their key and the UPDATEs touch
 * only rows without one, so a big table keeps taking writes meanwhile. A failure is
 * logged and tried again by a later soon(), at most every KEYING_RETRY_MS.
 */
export function createSeriesKeying(deps: {
  sql: QuestDbSql;
  table: string;
  logger: Logger;
  clock: Clock;
  walApplyTimeoutMs: number;
  /** false: never key (the store then reads without the index). */
  enabled: boolean;
  isClosed: () => boolean;
  onKeyed: () => void;
}): SeriesKeying {
  const { sql, table, logger } = deps;
  let keyed = false;
  let current: Promise<void> | undefined;
  let triedAt = Number.NEGATIVE_INFINITY;
  const attempt = async () => {
    try {
      const done = await keySeries({
        sql,
        table,
        logger,
        // a big backfill takes QuestDB a while to apply (10 M rows: ~12 s here): keep waiting
        walApplied: async () => {
          while (!deps.isClosed()) if (await waitForWalApply(sql, table, logger, deps.walApplyTimeoutMs)) return true;
          return false;
        },
        stop: deps.isClosed,
      });
      if (done) {
        keyed = true;
        deps.onKeyed();
      } else logger.warn({ table }, 'questdb: series keys not complete yet; queries scan until they are');
    } catch (e) {
      logger.warn({ table, err: (e as Error).message }, 'questdb: series keys not complete yet; queries scan until they are');
    }
  };
  return {
    soon() {
      if (keyed || current || !deps.enabled || deps.isClosed()) return;
      if (deps.clock.now() - triedAt < KEYING_RETRY_MS) return;
      triedAt = deps.clock.now();
      current = attempt().finally(() => {
        current = undefined;
      });
    },
    running: async () => {
      await current;
    },
  };
}
