/**
 * Bucket stats and reading counts of the SQLite store, off the event loop.
 *
 * Both are whole-bucket scans: ~0.6 s per stats call on 5 M rows, which on the main
 * thread (better-sqlite3 is synchronous) held every PUBACK, HTTP answer and keepalive
 * for that long, and they also forced a merge of staging first. A dashboard refreshing
 * the overview every few seconds on a 10 M-row bucket stalled ingest most of the time.
 * So they run in a worker thread on its own read-only connection: a WAL reader never
 * blocks the writer and the writer never blocks it.
 *
 * Why a worker rather than a rollup maintained by the writer (per series and day):
 * counting exactly under INSERT OR REPLACE means knowing, per staged row, whether its key
 * is already stored — an index probe per row in the merge, which is the ingest path's
 * hottest loop — and deletes and retention would have to adjust it. The worker costs the
 * ingest path nothing but a message, and its answer is exact by construction. Measured
 * on 10 M rows (bench/store-stats-stall.ts, bench/RESULTS.md): the longest event-loop gap
 * during a stats call went from the whole call (~4 s) to 15 ms at load 2 (~90 ms at load
 * 5-17), writes completing throughout.
 *
 * Exactness without a merge: every query of one call runs in one read transaction, so it
 * sees one committed state of both tables. In any committed state the readings of a
 * series are the keys of `readings` plus the staged keys not (yet) in it — a staged
 * generation leaves `staging` only after all of it is in `readings`, and a key staged
 * twice, or staged and already merged, is one reading (INSERT OR REPLACE on
 * (series_id, ts)). Values do not matter to counts, so which write wins is irrelevant.
 * A call sees every write that resolved before it was made (those are committed).
 *
 * Calls run one at a time in the worker; a call identical to one still queued (not
 * started) shares its answer, so a burst of dashboard refreshes costs one scan.
 * Plain CommonJS evaluated in the worker, as sqlite-checkpointer.ts (tsx's loader is not
 * inherited by a worker).
 */
import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';
import { spawnSmallHeapWorker } from './small-heap-worker.ts';
import { askWorkerGc, askWorkerHeap, type WorkerHeap } from './worker-heap.ts';
import type { BucketStats } from '../readings.ts';

const driverPath = createRequire(import.meta.url).resolve('better-sqlite3');

const DAY_MS = 86_400_000;

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driverPath);
const DAY = ${DAY_MS};
const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
// SQLite's own default page cache (2 MiB), not better-sqlite3's 16 MiB: these are whole-bucket
// scans that a cache this size cannot hold anyway, and the pages stayed resident in the
// worker's malloc arena after each call, which dakkio's quiet-time release (it shrinks the
// writer's cache) never reached. 1 M rows, 3 stats + count calls: RSS +36-37 -> +14-15 MiB, stats
// calls no slower (bench/RESULTS.md, "The stats worker's page cache").
db.pragma('cache_size = -2000');
const inBucket = 'SELECT id FROM series WHERE bucket_id = ?';
const inBuckets = 'SELECT id FROM series WHERE bucket_id IN (SELECT value FROM json_each(?))';
// staged keys not in readings, once each (staging has no index: one pass over it, a PK probe per row)
const extra = (ids) => \`SELECT DISTINCT st.series_id AS sid, st.ts AS ts FROM staging st
  WHERE st.series_id IN (\${ids})
  AND NOT EXISTS (SELECT 1 FROM readings r WHERE r.series_id = st.series_id AND r.ts = st.ts)\`;
const q = {
  series: db.prepare('SELECT id, source_id FROM series WHERE bucket_id = ? ORDER BY id'),
  // one series at a time, in key order: each series' rows are one contiguous PK range, and
  // grouping them by day sorts a few thousand rows, where one GROUP BY day over the
  // bucket sorted all of its rows (a temp B-tree of 10 M entries) in a second scan
  perSeriesDay: db.prepare(\`SELECT ts - (ts % \${DAY}) AS day, count(*) AS n, min(ts) AS first, max(ts) AS last
    FROM readings WHERE series_id = ? GROUP BY day\`),
  // summed per series and day in SQL: a flood leaves hundreds of thousands of keys staged, and one JS
  // object per key held ~30-40 MiB in this worker's heap after the call (bench/RESULTS.md, task W)
  extraOfBucket: db.prepare(\`SELECT sid, ts - (ts % \${DAY}) AS day, count(*) AS n, min(ts) AS first, max(ts) AS last
    FROM (\${extra(inBucket)}) GROUP BY sid, day\`),
  count: db.prepare(\`SELECT count(*) AS total, sum(r.ts >= ?) AS since
    FROM series s JOIN readings r ON r.series_id = s.id
    WHERE s.bucket_id IN (SELECT value FROM json_each(?))\`),
  extraCount: db.prepare(\`SELECT count(*) AS total, sum(ts >= ?) AS since FROM (\${extra(inBuckets)})\`),
};
const begin = db.prepare('BEGIN');
const end = db.prepare('COMMIT');

function snapshot(fn) {
  begin.run();
  try { return fn(); } finally { end.run(); }
}

function stats(bucketId) {
  return snapshot(() => {
    const sources = new Map();
    const days = new Map();
    const series = q.series.all(bucketId);
    for (const { id, source_id } of series) {
      for (const r of q.perSeriesDay.all(id)) {
        const s = sources.get(source_id);
        if (s) { s.n += r.n; if (r.first < s.first) s.first = r.first; if (r.last > s.last) s.last = r.last; }
        else sources.set(source_id, { n: r.n, first: r.first, last: r.last });
        days.set(r.day, (days.get(r.day) ?? 0) + r.n);
      }
    }
    const extra = q.extraOfBucket.all(bucketId);
    if (extra.length > 0) {
      const sourceOf = new Map(series.map((s) => [s.id, s.source_id]));
      for (const { sid, day, n, first, last } of extra) {
        const source = sourceOf.get(sid);
        const s = sources.get(source);
        if (s) { s.n += n; if (first < s.first) s.first = first; if (last > s.last) s.last = last; }
        else sources.set(source, { n, first, last });
        days.set(day, (days.get(day) ?? 0) + n);
      }
    }
    return { sources: [...sources], days: [...days] };
  });
}

function count(bucketIds, since) {
  return snapshot(() => {
    const json = JSON.stringify(bucketIds);
    const a = q.count.get(since, json);
    const b = q.extraCount.get(since, json);
    return { total: (a.total ?? 0) + (b.total ?? 0), since: (a.since ?? 0) + (b.since ?? 0) };
  });
}

parentPort.on('message', (m) => {
  try {
    const result = m.kind === 'stats' ? stats(m.bucketId) : count(m.bucketIds, m.sinceMs);
    parentPort.postMessage({ id: m.id, result });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String(err && err.message ? err.message : err) });
  }
});
`;

type Request = { kind: 'stats'; bucketId: string } | { kind: 'count'; bucketIds: readonly string[]; sinceMs: number };

interface Pending {
  id: number;
  key: string;
  request: Request;
  promise: Promise<unknown>;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

interface StatsResult {
  sources: [string, { n: number; first: number; last: number }][];
  days: [number, number][];
}

export interface SqliteStatsReader {
  stats(bucketId: string): Promise<BucketStats>;
  countReadings(bucketIds: readonly string[], sinceMs: number): Promise<{ total: number; since: number }>;
  /** Quiet time: the worker runs a full GC once it is free (worker-heap.ts, askWorkerGc). */
  releaseMemory(): void;
  /** The worker's committed heap; undefined when it is not running, busy past `timeoutMs` or gone. */
  heap(timeoutMs: number): Promise<WorkerHeap | undefined>;
  /** Rejects what is pending and stops the worker. */
  close(): Promise<void>;
}

export function createSqliteStatsReader(path: string): SqliteStatsReader {
  let worker: Worker | null = null;
  let running: Pending | null = null;
  const queue: Pending[] = [];
  let nextId = 1;
  let closed = false;

  function fail(err: Error): void {
    const all = running ? [running, ...queue] : [...queue];
    running = null;
    queue.length = 0;
    for (const p of all) p.reject(err);
  }

  function spawn(): Worker {
    const w = spawnSmallHeapWorker(workerSource, { path, driverPath });
    w.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const p = running;
      if (!p || p.id !== m.id) return;
      running = null;
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.result);
      pump();
    });
    // A broken worker fails what it was given; the next call starts a new one.
    const broken = (err: Error) => {
      if (worker !== w) return;
      worker = null;
      fail(err);
    };
    w.on('error', broken);
    w.on('exit', (code) => broken(new Error(`stats worker exited (code ${code})`)));
    return w;
  }

  function pump(): void {
    if (running || closed) return;
    const p = queue.shift();
    if (!p) {
      // idle: an open store must not keep the process alive
      worker?.unref();
      return;
    }
    worker ??= spawn();
    worker.ref();
    running = p;
    worker.postMessage({ id: p.id, ...p.request });
  }

  function submit(request: Request): Promise<unknown> {
    if (closed) return Promise.reject(new Error('reading store is closed'));
    const key = JSON.stringify(request);
    // only a call not yet started may be shared: a started one may not see the caller's writes
    const same = queue.find((p) => p.key === key);
    if (same) return same.promise;
    let resolve!: (v: unknown) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    queue.push({ id: nextId++, key, request, promise, resolve, reject });
    pump();
    return promise;
  }

  return {
    async stats(bucketId) {
      const r = (await submit({ kind: 'stats', bucketId })) as StatsResult;
      const sources = r.sources.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const readings = sources.reduce((n, [, s]) => n + s.n, 0);
      let firstAt: number | null = null;
      let lastAt: number | null = null;
      for (const [, s] of sources) {
        if (firstAt === null || s.first < firstAt) firstAt = s.first;
        if (lastAt === null || s.last > lastAt) lastAt = s.last;
      }
      return {
        readings,
        firstAt,
        lastAt,
        perDataSource: sources.map(([dataSourceId, s]) => ({
          dataSourceId,
          readings: s.n,
          firstAt: s.first,
          lastAt: s.last,
        })),
        perDay: r.days.sort((a, b) => a[0] - b[0]).map(([day, n]) => ({ day, readings: n })),
      };
    },
    async countReadings(bucketIds, sinceMs) {
      if (bucketIds.length === 0) return { total: 0, since: 0 };
      return (await submit({ kind: 'count', bucketIds, sinceMs })) as { total: number; since: number };
    },
    releaseMemory: () => askWorkerGc(worker),
    heap: (timeoutMs) => askWorkerHeap(worker, timeoutMs),
    async close() {
      if (closed) return;
      closed = true;
      fail(new Error('reading store is closed'));
      const w = worker;
      worker = null;
      if (w) await w.terminate();
    },
  };
}
