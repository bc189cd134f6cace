import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type Logger, silentLogger } from '../logger.ts';
import { startCheckpointer } from './sqlite-checkpointer.ts';

describe('sqlite WAL checkpointer', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  function openDb(): { db: Database.Database; path: string } {
    const dir = mkdtempSync(join(tmpdir(), 'dakkio-ckpt-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'readings.db');
    const db = new Database(path);
    cleanups.push(() => db.open && db.close());
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)');
    return { db, path };
  }
  const insert = (db: Database.Database, from: number, n: number) => {
    const stmt = db.prepare('INSERT INTO t (k, v) VALUES (?, randomblob(3000))');
    db.transaction(() => {
      for (let i = from; i < from + n; i++) stmt.run(i);
    })();
  };
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(cond()).toBe(true);
  };

  it('the writer connection never checkpoints in its commits; a worker does, once the WAL is big enough', async () => {
    const { db, path } = openDb();
    const cp = startCheckpointer(db, { path, logger: silentLogger, intervalMs: 5, startAtBytes: 256 * 1024 });
    cleanups.push(() => cp.close());
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    // ~1,500 pages: past SQLite's automatic threshold (1,000) in one commit, still nothing copied on this thread
    insert(db, 0, 1500);
    const probe = new Database(path, { readonly: true });
    cleanups.push(() => probe.close());
    await until(() => cp.status().checkpoints > 0);
    expect(cp.status().walFrames).toBeGreaterThan(1000);
    // the worker copied every frame into the database file: nothing is left for a checkpoint to do
    const [left] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
    expect(left!.checkpointed).toBe(left!.log);
    expect((probe.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(1500);
  });

  it('past maxWalFrames the writer checkpoints once itself, so its next write restarts the WAL', async () => {
    const { db, path } = openDb();
    const cp = startCheckpointer(db, { path, logger: silentLogger, intervalMs: 5, startAtBytes: 0, maxWalFrames: 200 });
    cleanups.push(() => cp.close());
    insert(db, 0, 600);
    await until(() => cp.status().writerCheckpoints > 0);
    insert(db, 600, 10);
    const checks = cp.status().checkpoints;
    await until(() => cp.status().checkpoints > checks);
    // restarted: only the small write's frames are in the WAL now
    expect(cp.status().walFrames).toBeLessThan(100);
  });

  it('times its checkpoints and logs slow ones: the writer connection\'s own as a warning (it holds the event loop)', async () => {
    const { db, path } = openDb();
    const lines: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
    const logger: Logger = {
      debug: (obj, msg) => lines.push({ level: 'debug', obj: obj as Record<string, unknown>, msg }),
      info: (obj, msg) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
      warn: (obj, msg) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
      error: (obj, msg) => lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
      child: () => logger,
    };
    // thresholds of 0 ms: every checkpoint counts as slow, so the lines appear whatever the disk
    const cp = startCheckpointer(db, {
      path,
      logger,
      intervalMs: 5,
      startAtBytes: 0,
      maxWalFrames: 200,
      slowCheckpointMs: 0,
      slowWriterCheckpointMs: 0,
    });
    cleanups.push(() => cp.close());
    insert(db, 0, 600);
    await until(() => cp.status().writerCheckpoints > 0);
    const worker = lines.find((l) => l.msg === 'slow WAL checkpoint (worker)');
    expect(worker?.level).toBe('debug');
    expect(worker?.obj.ms).toBeTypeOf('number');
    const writer = lines.find((l) => l.msg === 'WAL checkpoint on the writer connection held the event loop');
    expect(writer?.level).toBe('warn');
    expect(writer?.obj.ms).toBeTypeOf('number');
    expect(cp.status()).toMatchObject({
      slowestCheckpointMs: expect.any(Number),
      writerCheckpointMs: expect.any(Number),
    });
  });

  it('close stops the worker and is idempotent', async () => {
    const { db, path } = openDb();
    const cp = startCheckpointer(db, { path, logger: silentLogger, intervalMs: 5, startAtBytes: 0 });
    insert(db, 0, 10);
    await until(() => cp.status().checkpoints > 0);
    await cp.close();
    await cp.close();
    const n = cp.status().checkpoints;
    insert(db, 10, 10);
    await new Promise((r) => setTimeout(r, 50));
    expect(cp.status().checkpoints).toBe(n);
  });
});
