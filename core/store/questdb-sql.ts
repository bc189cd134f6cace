/**
 * QuestDB SQL over its PostgreSQL wire protocol with `pg`: bind parameters for every
 * value, timestamps bound as ISO strings and parsed back as UTC epoch ms. Network
 * failures become DakkioError('store_unavailable'); errors QuestDB itself reports
 * become 'internal'.
 */
import pg from 'pg';
import { DakkioError, isDakkioError } from '../errors.ts';
import { isoTime } from '../iso-time.ts';
import type { Logger } from '../logger.ts';
import { parseQuestDbTimestamp } from './questdb-timestamp.ts';

export interface QuestDbSql {
  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

/** QuestDB sends TIMESTAMP as OID 1114 (without time zone) in UTC; pg would read it as local time. */
const TIMESTAMP_OID = 1114;

export const isoParam = (ms: number): string => isoTime(ms);

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);

export function toStoreError(e: unknown, what: string): DakkioError {
  if (isDakkioError(e)) return e;
  const err = e as { code?: string; severity?: string; message?: string };
  // Errors carrying a severity were sent by QuestDB: it is up and refused the statement.
  if (
    err?.severity === undefined &&
    (networkCodes.has(err?.code ?? '') || /connect|terminat|timeout|closed/i.test(err?.message ?? ''))
  ) {
    return new DakkioError('store_unavailable', `QuestDB is unreachable (${what})`, { retryAfterSeconds: 5, cause: e });
  }
  return new DakkioError('internal', `QuestDB ${what} failed: ${err?.message ?? String(e)}`, { cause: e });
}

export function createQuestDbSql(pgUrl: string, logger: Logger): QuestDbSql {
  const pool = new pg.Pool({
    connectionString: pgUrl,
    max: 4,
    idleTimeoutMillis: 10_000,
    connectionTimeoutMillis: 5_000,
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === TIMESTAMP_OID
          ? parseQuestDbTimestamp
          : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client whose server went away emits 'error' on the pool; unhandled it would crash the process.
  pool.on('error', (e) => logger.warn({ err: e.message }, 'questdb pg idle client error'));
  let closed: Promise<void> | undefined;
  return {
    async query<R extends Record<string, unknown>>(text: string, params: unknown[] = []) {
      if (closed) throw new DakkioError('store_unavailable', 'QuestDB store is closed');
      try {
        const res = await pool.query(text, params);
        return res.rows as R[];
      } catch (e) {
        throw toStoreError(e, 'query');
      }
    },
    close() {
      closed ??= pool.end().catch(() => {});
      return closed;
    },
  };
}
