/**
 * WAL checkpoints of readings.db off the event loop.
 *
 * SQLite's automatic checkpoint runs inside the commit that crosses
 * wal_autocheckpoint pages: it copies the WAL's pages into the database file and
 * fsyncs it (at synchronous NORMAL and FULL) on the thread that committed — the event loop.
 * On a 10 M-row table that made merge slices ~3x slower (48 vs 15 ms p50) and put
 * 100-500 ms stalls into the PUBACK stream. So the writer connection runs with
 * wal_autocheckpoint = 0 and a worker thread with its own connection runs PASSIVE
 * checkpoints, which never block the writer (SQLite's WAL design: the checkpointer
 * only takes the checkpoint lock). Durability is unchanged: a commit is complete in
 * the WAL before it is acknowledged; checkpoints only move committed pages.
 *
 * The WAL restarts from its beginning when a write transaction starts and every frame
 * has been checkpointed. Under constant writes a passive checkpoint may never quite
 * catch up, so once the WAL passes `maxWalFrames` the writer connection runs one
 * passive checkpoint itself (little left to copy by then), after which its next write
 * restarts the WAL.
 *
 * Both kinds are timed (status(), /api/health): a worker round that takes long (a slow
 * disk's fsync) lets the WAL grow meanwhile and is logged at debug; the writer's own
 * checkpoint holds the event loop, so a slow one is a warning.
 *
 * The worker starts only once the WAL file passes `startAtBytes`, so the many small
 * stores of tests and small deployments never spawn one. Plain CommonJS evaluated in
 * the worker (dakkio runs through tsx's loader, which a worker would not inherit).
 */
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';
import { spawnSmallHeapWorker } from './small-heap-worker.ts';
import { askWorkerGc, askWorkerHeap, type WorkerHeap } from './worker-heap.ts';
import type Database from 'better-sqlite3';
import type { Logger } from '../logger.ts';
import { type SqliteSynchronous, synchronousPragma } from './sqlite-synchronous.ts';

const driverPath = createRequire(import.meta.url).resolve('better-sqlite3');

const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driverPath);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
db.pragma(workerData.synchronousPragma);
parentPort.on('message', () => {
  try {
    const started = performance.now();
    const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
    parentPort.postMessage({ log: r.log, checkpointed: r.checkpointed, ms: performance.now() - started });
  } catch (err) {
    parentPort.postMessage({ error: String(err) });
  }
});
`;

export interface CheckpointerOptions {
  path: string;
  logger: Logger;
  /** the store's level, for the worker's connection too (sqlite-synchronous.ts says why; default 'normal') */
  synchronous?: SqliteSynchronous;
  /** how often to look at the WAL (default 200 ms) */
  intervalMs?: number;
  /** start the worker once the WAL file is this big (default 4 MiB, SQLite's default 1,000 pages) */
  startAtBytes?: number;
  /** WAL frames beyond which the writer connection checkpoints itself (default 16,384 ≈ 64 MiB) */
  maxWalFrames?: number;
  /** a worker checkpoint taking this long is logged at debug (default 1,000 ms) */
  slowCheckpointMs?: number;
  /** a checkpoint on the writer connection (the event loop) taking this long is a warning (default 100 ms) */
  slowWriterCheckpointMs?: number;
}

export interface Checkpointer {
  status(): {
    checkpoints: number;
    walFrames: number;
    writerCheckpoints: number;
    /** the longest worker checkpoint so far */
    slowestCheckpointMs: number;
    /** time the writer connection spent checkpointing, on the event loop, in all */
    writerCheckpointMs: number;
  };
  /** Quiet time: the worker runs a full GC once it is free (worker-heap.ts, askWorkerGc). */
  releaseMemory(): void;
  /** The worker's committed heap; undefined before it starts, or when it is busy past `timeoutMs`. */
  heap(timeoutMs: number): Promise<WorkerHeap | undefined>;
  close(): Promise<void>;
}

export function startCheckpointer(db: Database.Database, o: CheckpointerOptions): Checkpointer {
  db.pragma('wal_autocheckpoint = 0');
  const walPath = `${o.path}-wal`;
  const startAt = o.startAtBytes ?? 4 * 1024 * 1024;
  const maxFrames = o.maxWalFrames ?? 16_384;
  let worker: Worker | null = null;
  let inFlight = false;
  let closed = false;
  let checkpoints = 0;
  let writerCheckpoints = 0;
  let walFrames = 0;
  let slowestCheckpointMs = 0;
  let writerCheckpointMs = 0;
  const slowMs = o.slowCheckpointMs ?? 1000;
  const slowWriterMs = o.slowWriterCheckpointMs ?? 100;

  function spawn(): Worker {
    const w = spawnSmallHeapWorker(workerSource, {
      path: o.path,
      driverPath,
      synchronousPragma: synchronousPragma(o.synchronous),
    });
    w.unref();
    w.on('message', (m: { log?: number; checkpointed?: number; ms?: number; error?: string }) => {
      inFlight = false;
      if (closed) return;
      if (m.error !== undefined) {
        o.logger.warn({ error: m.error }, 'WAL checkpoint failed; retrying');
        return;
      }
      checkpoints++;
      walFrames = m.log ?? 0;
      const ms = m.ms ?? 0;
      slowestCheckpointMs = Math.max(slowestCheckpointMs, ms);
      if (ms >= slowMs) {
        o.logger.debug({ ms: Math.round(ms), walFrames, checkpointed: m.checkpointed }, 'slow WAL checkpoint (worker)');
      }
      if (walFrames > maxFrames && db.open) {
        // see the header: lets the writer's next transaction restart the WAL
        try {
          const started = performance.now();
          const [r] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
          const took = performance.now() - started;
          writerCheckpoints++;
          writerCheckpointMs += took;
          if (took >= slowWriterMs) {
            o.logger.warn(
              { ms: Math.round(took), walFrames: r?.log, checkpointed: r?.checkpointed },
              'WAL checkpoint on the writer connection held the event loop',
            );
          }
        } catch (err) {
          o.logger.warn({ err }, 'WAL checkpoint on the writer connection failed');
        }
      }
    });
    w.on('error', (err) => {
      // a broken checkpointer must not take the store down: SQLite checkpoints in the commit again
      o.logger.error({ err }, 'WAL checkpoint worker failed; falling back to automatic checkpoints');
      worker = null;
      if (db.open) db.pragma('wal_autocheckpoint = 1000');
      clearInterval(timer);
    });
    return w;
  }

  const timer = setInterval(() => {
    if (inFlight || closed) return;
    if (!worker) {
      let size = 0;
      try {
        size = statSync(walPath).size;
      } catch {
        return;
      }
      if (size < startAt) return;
      worker = spawn();
    }
    inFlight = true;
    worker.postMessage(0);
  }, o.intervalMs ?? 200);
  timer.unref();

  return {
    status: () => ({
      checkpoints,
      walFrames,
      writerCheckpoints,
      slowestCheckpointMs: Math.round(slowestCheckpointMs),
      writerCheckpointMs: Math.round(writerCheckpointMs),
    }),
    releaseMemory: () => askWorkerGc(worker),
    heap: (timeoutMs) => askWorkerHeap(worker, timeoutMs),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      const w = worker;
      worker = null;
      if (w) await w.terminate();
    },
  };
}
