import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { readingsDdl } from './sqlite-readings-schema.ts';
import { CHUNK, createRowBatcher } from './sqlite-row-batcher.ts';

describe('row batcher', () => {
  let db: Database.Database | undefined;
  afterEach(() => db?.close());

  function open() {
    db = new Database(':memory:');
    db.exec(readingsDdl);
    return db;
  }
  const staged = (d: Database.Database) =>
    d.prepare('SELECT series_id AS s, ts, num, txt, kind FROM staging ORDER BY seq').all() as { s: number; ts: number }[];

  it.each([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 3])('inserts %i rows in the order added (full chunks, then the rest)', (n) => {
    const d = open();
    const b = createRowBatcher(d, 'INSERT INTO staging (series_id, ts, num, txt, kind)');
    d.transaction(() => {
      b.reset();
      for (let i = 0; i < n; i++) b.add(i % 3, 1000 + i, i % 2 ? i : null, i % 2 ? null : `t${i}`, i % 2 ? 0 : 2);
      b.flush();
    })();
    const rows = staged(d);
    expect(rows.map((r) => r.ts)).toEqual(Array.from({ length: n }, (_, i) => 1000 + i));
    expect(rows[1]).toEqual(n > 1 ? { s: 1, ts: 1001, num: 1, txt: null, kind: 0 } : undefined);
  });

  it('reset() drops rows a failed transaction left queued', () => {
    const d = open();
    const b = createRowBatcher(d, 'INSERT INTO staging (series_id, ts, num, txt, kind)');
    expect(() =>
      d.transaction(() => {
        b.reset();
        for (let i = 0; i < 5; i++) b.add(1, i, i, null, 0);
        throw new Error('boom');
      })(),
    ).toThrow('boom');
    d.transaction(() => {
      b.reset();
      b.add(2, 99, 1, null, 0);
      b.flush();
    })();
    expect(staged(d)).toEqual([{ s: 2, ts: 99, num: 1, txt: null, kind: 0 }]);
  });
});
