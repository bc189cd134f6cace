import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import type { ReadingStore } from '../ports/reading-store.ts';
import type { ReadingPoint } from '../readings.ts';
import { createSqliteReadingStore } from '../store/sqlite-readings-store.ts';
import { createIngestPipeline, type IngestPipeline } from './ingest-pipeline.ts';

const T0 = Date.UTC(2026, 10, 28);
const B = 'b00000000000000000000001';
const pts = (n: number, offset = 0): ReadingPoint[] =>
  Array.from({ length: n }, (_, i) => ({ bucketId: B, dataSourceId: 'd1', metric: 'm', ts: T0 + offset + i, value: i }));
const turn = () => new Promise((r) => setImmediate(r));

/** The real store, with each write recorded and optionally held at a gate before it runs. */
function recording(store: ReadingStore) {
  const writes: number[] = [];
  let gate: Promise<void> | null = null;
  let open: () => void = () => {};
  const wrapped: ReadingStore = {
    ...store,
    async write(points) {
      writes.push(points.length);
      if (gate) await gate;
      await store.write(points);
    },
  };
  return {
    store: wrapped,
    writes,
    hold() {
      gate = new Promise((r) => {
        open = () => {
          gate = null;
          r();
        };
      });
    },
    release: () => open(),
  };
}

describe('ingest pipeline', () => {
  let dir: string;
  let store: ReadingStore;
  let pipeline: IngestPipeline | undefined;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dakkio-pipeline-'));
    store = await createSqliteReadingStore({ path: join(dir, 'readings.db'), logger: silentLogger });
  });
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const count = async () => (await store.countReadings([B], 0)).total;

  it('coalesces concurrent submits into one write and acknowledges after it committed', async () => {
    const r = recording(store);
    pipeline = createIngestPipeline({ store: r.store, logger: silentLogger });
    r.hold();
    const acked: number[] = [];
    const all = [pipeline.submit(pts(3)), pipeline.submit(pts(2, 100)), pipeline.submit(pts(1, 200))].map((p, i) =>
      p.then(() => acked.push(i)),
    );
    await turn();
    await turn();
    expect(r.writes).toEqual([6]);
    expect(acked).toEqual([]); // the write has not committed yet
    r.release();
    await Promise.all(all);
    expect(acked.sort()).toEqual([0, 1, 2]);
    expect(await count()).toBe(6);
  });

  it('runs one write at a time and groups what arrived meanwhile', async () => {
    const r = recording(store);
    pipeline = createIngestPipeline({ store: r.store, logger: silentLogger });
    r.hold();
    const first = pipeline.submit(pts(1));
    await turn();
    const later = [pipeline.submit(pts(2, 10)), pipeline.submit(pts(3, 20))];
    await turn();
    await turn();
    expect(r.writes).toEqual([1]);
    r.release();
    await Promise.all([first, ...later]);
    expect(r.writes).toEqual([1, 5]);
    expect(await count()).toBe(6);
  });

  it('with maxDelayMs, gathers submits spread over a few ms into one write while the store is idle', async () => {
    const r = recording(store);
    pipeline = createIngestPipeline({ store: r.store, logger: silentLogger, maxDelayMs: 50 });
    const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
    const acked: number[] = [];
    const all = [pipeline.submit(pts(1))];
    await sleep(5);
    all.push(pipeline.submit(pts(2, 10)));
    await sleep(5);
    all.push(pipeline.submit(pts(3, 20)));
    for (const [i, p] of all.entries()) p.then(() => acked.push(i));
    await turn();
    expect(r.writes).toEqual([]); // still gathering: nothing written, nobody acknowledged
    expect(acked).toEqual([]);
    await Promise.all(all);
    expect(r.writes).toEqual([6]);
    expect(await count()).toBe(6);
  });

  it('ends the maxDelayMs wait as soon as minBatchPoints are pending', async () => {
    const r = recording(store);
    pipeline = createIngestPipeline({ store: r.store, logger: silentLogger, maxDelayMs: 60_000, minBatchPoints: 5 });
    const first = [pipeline.submit(pts(2)), pipeline.submit(pts(2, 10))];
    await turn();
    await turn();
    expect(r.writes).toEqual([]); // 4 < 5: waiting for more (or for the 60 s timer)
    const last = pipeline.submit(pts(1, 20));
    await Promise.all([...first, last]);
    expect(r.writes).toEqual([5]);
  });

  it('splits groups at maxBatchPoints without splitting a submit', async () => {
    const r = recording(store);
    pipeline = createIngestPipeline({ store: r.store, logger: silentLogger, maxBatchPoints: 4 });
    r.hold();
    const first = pipeline.submit(pts(1));
    await turn();
    const rest = [pipeline.submit(pts(3, 10)), pipeline.submit(pts(2, 20)), pipeline.submit(pts(6, 30))];
    r.release();
    await Promise.all([first, ...rest]);
    expect(r.writes).toEqual([1, 3, 2, 6]);
    expect(await count()).toBe(12);
  });

  it("rejects the callers of a failed write with the store's error and keeps going", async () => {
    const r = recording(store);
    pipeline = createIngestPipeline({ store: r.store, logger: silentLogger });
    await pipeline.submit(pts(1));
    await store.close();
    const failing = [pipeline.submit(pts(1, 10)), pipeline.submit(pts(1, 20))];
    for (const f of failing) await expect(f).rejects.toMatchObject({ name: 'DakkioError', code: 'store_unavailable' });
    await expect(pipeline.submit(pts(1, 30))).rejects.toMatchObject({ code: 'store_unavailable' });
  });

  it('tells onCommitted listeners after acknowledging, and survives a throwing listener', async () => {
    pipeline = createIngestPipeline({ store, logger: silentLogger });
    const order: string[] = [];
    const seen: number[] = [];
    pipeline.onCommitted(() => {
      order.push('throwing listener');
      throw new Error('listener bug');
    });
    const off = pipeline.onCommitted((points) => {
      order.push('listener');
      seen.push(points.length);
    });
    pipeline.onCommitted(async () => {
      throw new Error('async listener bug');
    });
    await pipeline.submit(pts(2)).then(() => order.push('ack'));
    await turn();
    expect(order).toEqual(['ack', 'throwing listener', 'listener']);
    expect(seen).toEqual([2]);
    off();
    await pipeline.submit(pts(1, 50));
    await turn();
    expect(seen).toEqual([2]);
  });

  it('flush waits for pending writes; close flushes and refuses later submits', async () => {
    const r = recording(store);
    pipeline = createIngestPipeline({ store: r.store, logger: silentLogger, maxDelayMs: 60_000 });
    const committed: number[] = [];
    pipeline.onCommitted((p) => committed.push(p.length));
    const a = pipeline.submit(pts(2));
    await pipeline.flush();
    await a;
    expect(await count()).toBe(2);
    const b = pipeline.submit(pts(3, 10));
    await Promise.all([pipeline.close(), pipeline.close()]);
    await b;
    expect(await count()).toBe(5);
    await turn();
    expect(committed).toEqual([2, 3]);
    await expect(pipeline.submit(pts(1, 99))).rejects.toMatchObject({ code: 'store_unavailable' });
    await pipeline.flush();
    await expect(pipeline.submit([])).rejects.toMatchObject({ code: 'store_unavailable' });
  });

  it('accepts an empty submit without writing and refuses floods', async () => {
    const r = recording(store);
    pipeline = createIngestPipeline({ store: r.store, logger: silentLogger, maxPendingPoints: 5 });
    await pipeline.submit([]);
    expect(r.writes).toEqual([]);
    r.hold();
    const first = pipeline.submit(pts(1));
    await turn();
    const second = pipeline.submit(pts(4, 10));
    await expect(pipeline.submit(pts(2, 20))).rejects.toMatchObject({ code: 'rate_limited', retryAfterSeconds: 1 });
    r.release();
    await Promise.all([first, second]);
    expect(await count()).toBe(5);
  });
});
