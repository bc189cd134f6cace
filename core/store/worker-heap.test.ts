/** The store workers' heap figures (core/store/worker-heap.ts), with real worker threads. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { spawnSmallHeapWorker } from './small-heap-worker.ts';
import { createSqliteReadingStore } from './sqlite-readings-store.ts';
import { askWorkerHeap } from './worker-heap.ts';

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
