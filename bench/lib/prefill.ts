/**
 * A dakkio data dir whose readings table already holds many readings, for the
 * sustained ingest run (issue 7: "on a table that already holds ≥ 10 million readings").
 *
 * Built once and cached under .cache/prefill-<rows>x<series>/: dakkio is started on a
 * fresh dir and given a user, a bucket, <series> data sources and an API key through its
 * API (bench/lib/dakkio-setup.ts), then stopped; readings.db is then filled directly with
 * better-sqlite3 — a generated SQLite file, rows inserted in (series_id, ts) key order,
 * which is ~50x faster than any ingest path and gives the same B-tree a long-running
 * dakkio would have (each series' history contiguous, its newest rows at the tail).
 * Each run starts dakkio on a fresh COPY of the cached dir, so every run begins from
 * the same table.
 *
 * Readings: one metric ("temperature") per source, spread over the 30 days that end
 * 31 days ago (the generator writes from 30 days ago onwards, so nothing it sends
 * replaces a pre-filled row and stored counts stay exact), one reading per series
 * every ~30d/n with ±25% jitter, values a random walk.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { type SavedFixture, setupDakkio } from './dakkio-setup.ts';
import { startDakkio } from './servers.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const DAY = 86_400_000;
/** rows per multi-row INSERT statement while filling */
const CHUNK = 200;

export interface Prefilled {
  /** a fresh copy of the cached data dir, for one dakkio start (removed when that dakkio stops) */
  copy(): string;
  saved: SavedFixture;
  rows: number;
  /** seconds it took to build (0 when it came from the cache) */
  builtInS: number;
  fromCache: boolean;
}

export async function prefilledDataDir(rows: number, series: number, metric = 'temperature'): Promise<Prefilled> {
  const dir = join(root, '.cache', `prefill-${rows}x${series}`);
  const doneFile = join(dir, 'fixture.json');
  let builtInS = 0;
  const fromCache = existsSync(doneFile);
  if (!fromCache) {
    const started = performance.now();
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    // dakkio makes the metadata (user, bucket, sources, key) through its own API...
    const work = mkdtempSync(join(tmpdir(), 'dakkio-prefill-'));
    const server = await startDakkio(undefined, { dataDir: work });
    let saved: SavedFixture;
    try {
      saved = (await setupDakkio(`http://127.0.0.1:${server.ports.http}`, series)).saved;
    } catch (err) {
      await server.stop();
      throw err;
    }
    // a clean stop (SIGTERM) closes the databases; copy before stop() removes the temp dir
    await stopKeeping(server, work, dataDir);
    // ...and the readings are generated straight into its readings.db
    fillReadings(join(dataDir, 'readings.db'), saved, rows, metric);
    builtInS = (performance.now() - started) / 1000;
    writeFileSync(doneFile, JSON.stringify(saved));
  }
  const saved = JSON.parse(readFileSync(doneFile, 'utf8')) as SavedFixture;
  return {
    saved,
    rows,
    builtInS,
    fromCache,
    copy() {
      const to = mkdtempSync(join(tmpdir(), 'dakkio-bench-'));
      cpSync(join(dir, 'data'), to, { recursive: true });
      return to;
    },
  };
}

/** Stops the server and copies its data dir out before its cleanup removes it. */
async function stopKeeping(server: Awaited<ReturnType<typeof startDakkio>>, from: string, to: string): Promise<void> {
  // stop() = SIGTERM, wait for exit, then rm -rf; the copy has to land in between, so
  // signal and wait here, copy, then let stop() clean up the (now stopped) server
  process.kill(server.pid, 'SIGTERM');
  for (let i = 0; i < 300; i++) {
    try {
      process.kill(server.pid, 0);
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  cpSync(from, to, { recursive: true });
  await server.stop();
}

function fillReadings(path: string, saved: SavedFixture, rows: number, metric: string): void {
  const db = new Database(path);
  try {
    // bulk load: no journal while filling (a failed build is thrown away), WAL again after
    db.pragma('journal_mode = DELETE');
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    const insertSeries = db.prepare('INSERT INTO series (bucket_id, source_id, metric) VALUES (?, ?, ?)');
    const ids = db.transaction(() =>
      saved.sourceIds.map((s) => Number(insertSeries.run(saved.bucketId, s, metric).lastInsertRowid)),
    )();
    const insert = db.prepare(
      `INSERT INTO readings (series_id, ts, num, txt, kind) VALUES ${Array.from({ length: CHUNK }, () => '(?, ?, ?, NULL, 0)').join(', ')}`,
    );
    const insertOne = db.prepare('INSERT INTO readings (series_id, ts, num, txt, kind) VALUES (?, ?, ?, NULL, 0)');
    const end = Date.now() - 31 * DAY;
    const start = end - 30 * DAY;
    let seed = 12345;
    const rand = () => {
      // xorshift32: deterministic, fast, good enough for jitter and a random walk
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 4294967296;
    };
    const args: number[] = new Array(CHUNK * 3);
    const fillSeries = db.transaction((sid: number, n: number) => {
      const step = (end - start) / n;
      let v = 15 + rand() * 10;
      let k = 0;
      for (let i = 0; i < n; i++) {
        // jitter within ±25% of the step keeps timestamps strictly increasing
        const ts = Math.floor(start + i * step + (rand() - 0.5) * step * 0.5);
        v += (rand() - 0.5) * 0.2;
        const num = Math.round(v * 100) / 100;
        if (k === 0 && n - i < CHUNK) {
          // the series' last few rows, fewer than a chunk
          insertOne.run(sid, ts, num);
          continue;
        }
        args[k * 3] = sid;
        args[k * 3 + 1] = ts;
        args[k * 3 + 2] = num;
        if (++k === CHUNK) {
          insert.run(args);
          k = 0;
        }
      }
    });
    const per = Math.floor(rows / ids.length);
    let extra = rows - per * ids.length;
    for (const sid of ids) fillSeries(sid, per + (extra-- > 0 ? 1 : 0));
    db.pragma('journal_mode = WAL');
    const n = (db.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n;
    if (n !== rows) throw new Error(`prefill wrote ${n} readings, expected ${rows}`);
  } finally {
    db.close();
  }
}
