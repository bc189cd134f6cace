/**
 * Write pattern of the SQLite readings store vs the naive indexed table, same run:
 * 1,000-row transactions spread over 3,000 series (the pattern).
 *
 *   npx tsx bench/store-write-pattern.ts [rowsStaged=1000000] [rowsNaive=300000]
 *
 * The staged figure includes every merge into the indexed table (the last one is
 * forced by a read), so it is the sustained rate, not the append rate alone.
 *
 * Recorded 2026-11-28 on the shared 2-core dev machine (Node 20, better-sqlite3 12):
 *   quiet-ish:        naive 50,036 rows/s (300k) | staged 433,708 rows/s sustained (1M), write() alone 940,615
 *   load average 18:  naive 28,807 rows/s (300k) | staged 202,703 rows/s sustained (1M), write() alone 366,308;
 *                     10 merges of 100,000 rows, median 182 ms, max 259 ms each (the event loop is blocked meanwhile)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type Logger, silentLogger } from '../core/logger.ts';
import type { ReadingPoint } from '../core/readings.ts';
import { createSqliteReadingStore } from '../core/store/sqlite-readings-store.ts';

const SERIES = 3000;
const TX_ROWS = 1000;
const T0 = Date.UTC(2026, 10, 28);
const rowsStaged = Number(process.argv[2] ?? 1_000_000);
const rowsNaive = Number(process.argv[3] ?? 300_000);

function pointAt(i: number): ReadingPoint {
  const s = i % SERIES;
  return {
    bucketId: `b${String(s % 10).padStart(23, '0')}`,
    dataSourceId: `d${String(Math.floor(s / 10)).padStart(23, '0')}`,
    metric: 'temperature',
    ts: T0 + Math.floor(i / SERIES) * 1000,
    value: 20 + (i % 100) / 10,
  };
}

function batch(start: number): ReadingPoint[] {
  return Array.from({ length: TX_ROWS }, (_, k) => pointAt(start + k));
}

async function naive(dir: string, rows: number): Promise<number> {
  const db = new Database(join(dir, 'naive.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = -32768');
  db.exec(`CREATE TABLE readings (bucket TEXT, source TEXT, metric TEXT, ts INTEGER, value REAL);
           CREATE UNIQUE INDEX readings_key ON readings (bucket, source, metric, ts);`);
  const insert = db.prepare('INSERT OR REPLACE INTO readings VALUES (?, ?, ?, ?, ?)');
  const tx = db.transaction((pts: ReadingPoint[]) => {
    for (const p of pts) insert.run(p.bucketId, p.dataSourceId, p.metric, p.ts, p.value as number);
  });
  const started = performance.now();
  for (let i = 0; i < rows; i += TX_ROWS) tx(batch(i));
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return rows / seconds;
}

/** Collects the store's "merged staged readings" debug lines: each merge blocks the event loop. */
function mergeTimer(): { logger: Logger; merges: { rows: number; ms: number }[] } {
  const merges: { rows: number; ms: number }[] = [];
  const logger: Logger = {
    ...silentLogger,
    debug(obj, msg) {
      if (msg === 'merged staged readings') merges.push(obj as { rows: number; ms: number });
    },
    child: () => logger,
  };
  return { logger, merges };
}

async function staged(
  dir: string,
  rows: number,
): Promise<{ rate: number; appendOnly: number; merges: { rows: number; ms: number }[] }> {
  const timer = mergeTimer();
  const store = await createSqliteReadingStore({ path: join(dir, 'readings.db'), logger: timer.logger });
  const batches = [];
  for (let i = 0; i < rows; i += TX_ROWS) batches.push(batch(i));
  let writing = 0;
  const started = performance.now();
  for (const b of batches) {
    const w = performance.now();
    await store.write(b);
    writing += performance.now() - w;
    // Let the background merge run between writes, as it does under the pipeline.
    await new Promise((r) => setImmediate(r));
  }
  const counted = await store.countReadings(
    Array.from({ length: 10 }, (_, k) => `b${String(k).padStart(23, '0')}`),
    0,
  );
  const seconds = (performance.now() - started) / 1000;
  if (counted.total !== rows) throw new Error(`expected ${rows} rows, found ${counted.total}`);
  await store.close();
  return { rate: rows / seconds, appendOnly: rows / (writing / 1000), merges: timer.merges };
}

const dir = mkdtempSync(join(tmpdir(), 'dakkio-bench-'));
try {
  const s = await staged(dir, rowsStaged);
  const n = await naive(dir, rowsNaive);
  console.log(`1,000-row transactions over ${SERIES} series, WAL, synchronous=NORMAL`);
  console.log(`naive indexed table     : ${Math.round(n).toLocaleString('en-US')} rows/s (${rowsNaive.toLocaleString('en-US')} rows)`);
  console.log(`staging + ordered merge : ${Math.round(s.rate).toLocaleString('en-US')} rows/s sustained incl. merges (${rowsStaged.toLocaleString('en-US')} rows)`);
  console.log(`  of which write() alone: ${Math.round(s.appendOnly).toLocaleString('en-US')} rows/s`);
  const ms = s.merges.map((m) => m.ms);
  console.log(
    `  merges: ${s.merges.length}, rows each ~${s.merges[0]?.rows ?? 0}, ms each: median ${ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)] ?? 0}, max ${ms.at(-1) ?? 0}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
