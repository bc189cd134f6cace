import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../clock.ts';
import { silentLogger } from '../logger.ts';
import type { ReadingStore } from '../ports/reading-store.ts';
import { createSqliteReadingStore } from '../store/sqlite-readings-store.ts';
import { createRetentionJob, type RetentionJob } from './retention-job.ts';

const DAY = 86_400_000;
const clock = createManualClock();
const NOW = clock.now();
const B1 = 'b00000000000000000000001';
const B2 = 'b00000000000000000000002';
const B3 = 'b00000000000000000000003';

describe('retention job', () => {
  let dir: string;
  let store: ReadingStore;
  let job: RetentionJob | undefined;

  beforeEach(async () => {
    clock.set(NOW);
    dir = mkdtempSync(join(tmpdir(), 'dakkio-retention-'));
    store = await createSqliteReadingStore({ path: join(dir, 'readings.db'), logger: silentLogger });
    const points = [];
    for (const bucketId of [B1, B2, B3]) {
      for (const age of [0, 1, 6, 8, 40]) {
        points.push({ bucketId, dataSourceId: 'd1', metric: 'm', ts: NOW - age * DAY - 1, value: age });
      }
    }
    await store.write(points);
  });
  afterEach(async () => {
    await job?.close();
    job = undefined;
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ages = async (bucketId: string) =>
    (await store.queryRaw({ bucketId, from: 0, to: NOW + 1, limitPerSeries: 100 }))[0]?.points.map((p) => p[1]);

  it('drops readings older than each bucket retention and leaves buckets without one alone', async () => {
    job = createRetentionJob({
      store,
      listBucketsWithRetention: async () => [
        { id: B1, retentionDays: 7 },
        { id: B2, retentionDays: 30 },
        { id: B3, retentionDays: 0 },
      ],
      clock,
      logger: silentLogger,
      intervalMs: 3_600_000,
    });
    expect(await job.runOnce()).toEqual({ buckets: 2, failed: 0 });
    expect(await ages(B1)).toEqual([6, 1, 0]);
    expect(await ages(B2)).toEqual([8, 6, 1, 0]);
    expect(await ages(B3)).toEqual([40, 8, 6, 1, 0]);
    clock.advance(DAY);
    await job.runOnce();
    expect(await ages(B1)).toEqual([1, 0]);
  });

  it('shares a running pass, keeps going past a failing bucket, and closes idempotently', async () => {
    let calls = 0;
    const failing: Pick<ReadingStore, 'deleteBefore'> = {
      async deleteBefore(bucketId, cutoff) {
        if (bucketId === B1) throw new Error('disk on fire');
        await store.deleteBefore(bucketId, cutoff);
      },
    };
    job = createRetentionJob({
      store: failing,
      listBucketsWithRetention: async () => {
        calls++;
        return [
          { id: B1, retentionDays: 1 },
          { id: B2, retentionDays: 1 },
        ];
      },
      clock,
      logger: silentLogger,
      intervalMs: 3_600_000,
    });
    const [a, b] = await Promise.all([job.runOnce(), job.runOnce()]);
    expect(a).toEqual({ buckets: 2, failed: 1 });
    expect(b).toBe(a);
    expect(calls).toBe(1);
    expect(await ages(B2)).toEqual([0]);
    await job.close();
    await job.close();
  });
});
