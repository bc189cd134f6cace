/**
 * Inserts readings-shaped rows (series_id, ts, num, txt, kind) CHUNK at a time with one
 * multi-VALUES statement: each statement call crosses into native code and resets the
 * statement, which was the store's largest per-row cost when it ran once per row. Used
 * for staging writes and for merge slices into `readings`.
 *
 * Rows keep their order: full chunks go in as they fill, the remainder (fewer than a
 * chunk) one row per call at flush(), so staging's seq still follows the write order and
 * a later INSERT OR REPLACE of a key still lands later. Call reset() at the start of
 * each transaction (a transaction that threw leaves rows queued) and flush() before it
 * commits.
 */
import type Database from 'better-sqlite3';

/** Rows per multi-VALUES statement (5 parameters each). */
export const CHUNK = 64;
const COLS = 5;

export interface RowBatcher {
  reset(): void;
  add(seriesId: number, ts: number, num: number | null, txt: string | null, kind: number): void;
  flush(): void;
}

/** `head` is the statement up to VALUES, e.g. `INSERT INTO staging (series_id, ts, num, txt, kind)`. */
export function createRowBatcher(db: Database.Database, head: string): RowBatcher {
  const one = db.prepare<[number, number, number | null, string | null, number]>(`${head} VALUES (?, ?, ?, ?, ?)`);
  const chunk = db.prepare(`${head} VALUES ${Array.from({ length: CHUNK }, () => '(?, ?, ?, ?, ?)').join(', ')}`);
  const args: (number | string | null)[] = new Array(CHUNK * COLS).fill(null);
  let k = 0;
  return {
    reset() {
      k = 0;
    },
    add(seriesId, ts, num, txt, kind) {
      const o = k * COLS;
      args[o] = seriesId;
      args[o + 1] = ts;
      args[o + 2] = num;
      args[o + 3] = txt;
      args[o + 4] = kind;
      if (++k === CHUNK) {
        chunk.run(args);
        k = 0;
      }
    },
    flush() {
      for (let j = 0; j < k; j++) {
        const o = j * COLS;
        one.run(
          args[o] as number,
          args[o + 1] as number,
          args[o + 2] as number | null,
          args[o + 3] as string | null,
          args[o + 4] as number,
        );
      }
      k = 0;
    },
  };
}
