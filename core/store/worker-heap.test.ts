/** The store workers' heap figures (core/store/worker-heap.ts), with real worker threads. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { spawnSmallHeapWorker } from './small-heap-worker.ts';
import { createSqliteReadingStore } from './sqlite-readings-store.ts';
import { newReadingsDb } from './testing/readings-db.ts';
import { askWorkerGc, askWorkerHeap } from './worker-heap.ts';

const B = 'b00000000000000000000001';

describe("a store worker's committed heap, asked from the main thread", () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const spawned = (source: string): Worker => {
    const w = spawnSmallHeapWorker(source, {});
    cleanups.push(() => w.terminate());
    return w;
  };
  const online = (w: Worker) => new Promise((r) => w.once('online', r));

  it("an idle worker answers with its heap's committed MiB, and its own protocol sees no message", async () => {
    // the checkpointer's shape: any message on parentPort is work
    const w = spawned(`require('node:worker_threads').parentPort.on('message', (m) =>
      require('node:worker_threads').parentPort.postMessage({ work: m }));`);
    const work: unknown[] = [];
    w.on('message', (m) => work.push(m));
    await online(w);
    const heap = await askWorkerHeap(w, 2000);
    expect(heap).toMatchObject({
      heapMiB: expect.any(Number),
      newMiB: expect.any(Number),
      oldMiB: expect.any(Number),
      largeMiB: expect.any(Number),
    });
    expect(heap!.heapMiB).toBeGreaterThan(0);
    expect(heap!.heapMiB).toBeGreaterThanOrEqual(heap!.newMiB + heap!.oldMiB);
    expect(work).toEqual([]);
  });

  it('a worker busy past the timeout, or none, has no figure', async () => {
    const w = spawned(`require('node:worker_threads').parentPort.on('message', () => {
      const end = Date.now() + 1500; while (Date.now() < end);
    });`);
    await online(w);
    w.postMessage('work');
    await new Promise((r) => setTimeout(r, 50));
    expect(await askWorkerHeap(w, 50)).toBeUndefined();
    expect(await askWorkerHeap(null, 50)).toBeUndefined();
  });

  it("the SQLite store gives its stats worker's figure once that worker runs", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dakkio-worker-heap-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = await createSqliteReadingStore({ path: join(dir, 'readings.db'), logger: silentLogger });
    cleanups.push(() => store.close());
    // no worker yet: the stats reader starts on the first call, the checkpointer past 4 MiB of WAL
    expect(await store.workerHeaps!(500)).toEqual({});
    await store.write([{ bucketId: B, dataSourceId: 'd1', metric: 'm', ts: 1, value: 1 }]);
    await store.countReadings([B], 0);
    const heaps = await store.workerHeaps!(2000);
    expect(Object.keys(heaps)).toEqual(['statsReader']);
    expect(heaps.statsReader!.heapMiB).toBeGreaterThan(0);
  });
});

describe("a store worker's full GC at quiet time", () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  // node's gc in a worker needs --expose-gc (bin/dakkio.mjs has it; the test runner does not): V8 reads
  // the flag when it makes a context, so it is set before the worker starts
  beforeAll(() => setFlagsFromString('--expose-gc'));

  it('an idle worker that kept a dead burst committed hands it back', async () => {
    // what the stats reader does with a flood's staged keys: many objects alive for one call, then dead
    const w = spawnSmallHeapWorker(
      `const { parentPort } = require('node:worker_threads');
      parentPort.on('message', () => {
        const extra = [];
        for (let i = 0; i < 400000; i++) extra.push({ sid: i % 100, ts: 1e12 + i });
        parentPort.postMessage(extra.length);
      });`,
      {},
    );
    cleanups.push(() => w.terminate());
    w.postMessage('scan');
    await new Promise((r) => w.once('message', r));
    const before = (await askWorkerHeap(w, 2000))!;
    expect(before.oldMiB + before.largeMiB).toBeGreaterThan(16);
    askWorkerGc(w);
    const after = (await askWorkerHeap(w, 2000))!;
    expect(after.heapMiB).toBeLessThan(before.heapMiB - 12);
  });

  it("the SQLite store's releaseMemory reaches its stats worker", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dakkio-worker-gc-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // 2 series x 60,000 days, merged: a stats call holds one row per series and day and a map of the
    // days (tens of MiB in the worker's old space), all dead once it has answered
    const path = join(dir, 'readings.db');
    const db = newReadingsDb(path);
    db.prepare(
      `WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 2)
       INSERT INTO series (id, bucket_id, source_id, metric) SELECT n, ?, 'd' || n, 'm' FROM i`,
    ).run(B);
    db.prepare(
      `WITH RECURSIVE d(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM d WHERE k < 59999)
       INSERT INTO readings (series_id, ts, num, txt, kind) SELECT s.id, ? + d.k * 86400000, 1, NULL, 0 FROM series s, d`,
    ).run(0);
    db.close();
    const store = await createSqliteReadingStore({ path, logger: silentLogger });
    cleanups.push(() => store.close());
    expect((await store.stats(B)).readings).toBe(120_000);
    const before = (await store.workerHeaps!(2000)).statsReader!;
    store.releaseMemory!();
    const after = (await store.workerHeaps!(2000)).statsReader!;
    expect(after.heapMiB).toBeLessThan(before.heapMiB - 4);
  });
});
