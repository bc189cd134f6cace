/**
 * The local durable spool used while QuestDB is unreachable: a SQLite file
 * (better-sqlite3, WAL, synchronous=FULL so an acknowledged append survives a crash).
 * Rows keep their arrival order by rowid; the drainer removes them only after
 * QuestDB accepted them.
 */
import Database from 'better-sqlite3';
import type { EncodedPoint } from './questdb-writer.ts';

export interface SpooledPoint extends EncodedPoint {
  id: number;
}

export interface QuestDbSpool {
  /** Number of spooled points (kept in memory, exact). */
  depth(): number;
  append(points: readonly EncodedPoint[]): void;
  /** Oldest points first. */
  peek(limit: number): SpooledPoint[];
  /** Removes every spooled point with id <= lastId. */
  removeThrough(lastId: number): void;
  close(): void;
}

interface Row {
  id: number;
  bucket: string;
  source: string;
  metric: string;
  ts: number;
  kind: string;
  num: number | null;
  str: string | null;
}

export function openQuestDbSpool(path: string): QuestDbSpool {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket TEXT NOT NULL,
    source TEXT NOT NULL,
    metric TEXT NOT NULL,
    ts INTEGER NOT NULL,
    kind TEXT NOT NULL,
    num REAL,
    str TEXT
  )`);
  const insert = db.prepare(
    'INSERT INTO spool (bucket, source, metric, ts, kind, num, str) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const appendAll = db.transaction((points: readonly EncodedPoint[]) => {
    for (const p of points) insert.run(p.bucketId, p.dataSourceId, p.metric, p.ts, p.kind, p.num, p.str);
  });
  const select = db.prepare('SELECT id, bucket, source, metric, ts, kind, num, str FROM spool ORDER BY id LIMIT ?');
  const del = db.prepare('DELETE FROM spool WHERE id <= ?');
  let depth = (db.prepare('SELECT COUNT(*) AS n FROM spool').get() as { n: number }).n;
  let closed = false;

  return {
    depth: () => depth,
    append(points) {
      if (points.length === 0) return;
      appendAll(points);
      depth += points.length;
    },
    peek(limit) {
      return (select.all(limit) as Row[]).map((r) => ({
        id: r.id,
        bucketId: r.bucket,
        dataSourceId: r.source,
        metric: r.metric,
        ts: r.ts,
        kind: r.kind as EncodedPoint['kind'],
        num: r.num,
        str: r.str,
      }));
    },
    removeThrough(lastId) {
      const info = del.run(lastId);
      depth -= info.changes;
    },
    close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
