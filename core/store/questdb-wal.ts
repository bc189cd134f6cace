/**
 * Read-your-writes on a WAL table. QuestDB acknowledges an ILP/HTTP request (or an
 * UPDATE) once it is in the table's WAL; a background job applies it to the table,
 * and only then do queries see it. `wal_tables()` exposes `sequencerTxn` (last
 * committed WAL txn) and `writerTxn` (last applied one): waiting until writerTxn
 * reaches the sequencerTxn seen after our own commit gives a reader exactly the
 * data this process had acknowledged. Writes made by other processes become visible
 * with the usual (normally sub-second) apply lag.
 *
 * Resolves true once applied, false when it gave up after timeoutMs (reads then see
 * the table with lag; the series-key migration retries later instead).
 */
import { DakkioError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { QuestDbSql } from './questdb-sql.ts';

export async function waitForWalApply(
  sql: QuestDbSql,
  table: string,
  logger: Logger,
  timeoutMs: number,
): Promise<boolean> {
  const read = async () => {
    const rows = await sql.query(`SELECT writerTxn, sequencerTxn, suspended FROM wal_tables() WHERE name = $1`, [table]);
    const r = rows[0];
    if (!r) return undefined;
    return { writer: Number(r.writerTxn), sequencer: Number(r.sequencerTxn), suspended: r.suspended === true };
  };
  const first = await read();
  if (!first) return true;
  const target = first.sequencer;
  const deadline = Date.now() + timeoutMs;
  let cur = first;
  let delay = 5;
  while (cur.writer < target) {
    if (cur.suspended) {
      logger.error({ table }, 'questdb WAL table is suspended; writes are not being applied');
      throw new DakkioError('store_unavailable', 'QuestDB table is suspended', { retryAfterSeconds: 30 });
    }
    if (Date.now() > deadline) {
      logger.warn({ table, writerTxn: cur.writer, target }, 'questdb WAL apply slower than expected; reading with lag');
      return false;
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
    const next = await read();
    if (!next) return true;
    cur = next;
  }
  return true;
}
