import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../clock.ts';
import { silentLogger } from '../logger.ts';
import type { ReadingStore } from '../ports/reading-store.ts';
import { createSqliteReadingStore } from '../store/sqlite-readings-store.ts';
import { parseCsvBatch, parseNdjsonBatch } from './batch-import-parsers.ts';
import { apiKey, createInMemoryDirectory } from './in-memory-directory.test-support.ts';
import { createIngestPipeline, type IngestPipeline } from './ingest-pipeline.ts';
import { createIngestService, type IngestService } from './ingest-service.ts';

const B = 'b00000000000000000000001';
const OTHER = 'b00000000000000000000002';
const S1 = 'd00000000000000000000001';
const S2 = 'd00000000000000000000002';
const clock = createManualClock();
const NOW = clock.now();

describe('ingest service', () => {
  let dir: string;
  let store: ReadingStore;
  let pipeline: IngestPipeline;
  let service: IngestService;
  let seen: ReturnType<typeof createInMemoryDirectory>['seen'];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dakkio-ingest-'));
    store = await createSqliteReadingStore({ path: join(dir, 'readings.db'), logger: silentLogger });
    pipeline = createIngestPipeline({ store, logger: silentLogger });
    const d = createInMemoryDirectory({ [B]: { owner: 'u1', sources: [S1, S2] }, [OTHER]: { owner: 'u2', sources: [S1] } });
    seen = d.seen;
    service = createIngestService({ pipeline, directory: d.directory, clock });
  });
  afterEach(async () => {
    await pipeline.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const raw = () => store.queryRaw({ bucketId: B, from: 0, to: NOW * 2, limitPerSeries: 100 });

  it('stores a reading durably before answering, counting values, and marks the source seen', async () => {
    const result = await service.ingest(apiKey('u1'), B, [{ dataSourceId: S1, values: { t: 22.5, on: true, s: 'x' } }]);
    expect(result).toEqual({ accepted: 3, rejected: [] });
    const series = await raw();
    expect(series.map((s) => [s.metric, s.points])).toEqual(
      expect.arrayContaining([
        ['t', [[NOW, 22.5]]],
        ['on', [[NOW, true]]],
        ['s', [[NOW, 'x']]],
      ]),
    );
    expect(seen).toEqual([{ bucketId: B, dataSourceIds: [S1], at: NOW }]);
  });

  it('refuses a key without write, or scoped to other buckets, with forbidden', async () => {
    const reading = [{ dataSourceId: S1, values: { t: 1 } }];
    await expect(service.ingest(apiKey('u1', ['read']), B, reading)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(service.ingest(apiKey('u1', ['write'], [OTHER]), B, reading)).rejects.toMatchObject({ code: 'forbidden' });
    expect(await raw()).toEqual([]);
  });

  it("answers not_found for unknown buckets and for another owner's bucket", async () => {
    const reading = [{ dataSourceId: S1, values: { t: 1 } }];
    await expect(service.ingest(apiKey('u1'), OTHER, reading)).rejects.toMatchObject({ code: 'not_found' });
    await expect(service.ingest(apiKey('u1'), 'b00000000000000000000009', reading)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('a lone reading with an unknown source is not_found; an invalid one is validation_failed', async () => {
    await expect(service.ingest(apiKey('u1'), B, [{ dataSourceId: 'nope', values: { t: 1 } }])).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(service.ingest(apiKey('u1'), B, [{ dataSourceId: S1, values: { t: 'x'.repeat(5000) } }])).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });

  it('is all-or-nothing for batches, listing every bad index', async () => {
    const batch = [
      { dataSourceId: S1, values: { t: 1 }, timestamp: NOW - 1000 },
      { dataSourceId: 'nope', values: { t: 2 } },
      { dataSourceId: S2, values: { t: 3 }, timestamp: 'later' },
    ];
    const err = await service.ingest(apiKey('u1'), B, batch).catch((e) => e);
    expect(err).toMatchObject({ code: 'validation_failed' });
    expect(err.details.map((d: { index: number; code: string }) => [d.index, d.code])).toEqual([
      [1, 'not_found'],
      [2, 'validation_failed'],
    ]);
    expect(await raw()).toEqual([]);
    expect(seen).toEqual([]);
  });

  it('stores the valid readings of a partial batch and lists the rest', async () => {
    const batch = [
      { dataSourceId: S1, values: { t: 1, u: 2 }, timestamp: NOW - 1000 },
      { dataSourceId: 'nope', values: { t: 2 } },
      { dataSourceId: S2, values: { 'bad name': 3 } },
      { dataSourceId: S2, values: { t: 4 }, timestamp: '2026-11-28T09:00:00Z' },
    ];
    const result = await service.ingest(apiKey('u1'), B, batch, { partial: true });
    expect(result.accepted).toBe(3);
    expect(result.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'not_found'],
      [2, 'validation_failed'],
    ]);
    expect(result.rejected[1]?.message).toContain('values');
    expect((await store.countReadings([B], 0)).total).toBe(3);
    expect(seen[0]?.dataSourceIds.sort()).toEqual([S1, S2]);
  });

  it('writing the same reading twice keeps one point with the last value', async () => {
    await service.ingest(apiKey('u1'), B, [{ dataSourceId: S1, values: { t: 1 }, timestamp: NOW }]);
    await service.ingest(apiKey('u1'), B, [{ dataSourceId: S1, values: { t: 2 }, timestamp: NOW }]);
    expect((await raw())[0]?.points).toEqual([[NOW, 2]]);
  });

  it('ingests NDJSON and CSV batches with rejections keyed by line', async () => {
    const nd = parseNdjsonBatch(
      [
        `{"bucketId":"${B}","dataSourceId":"${S1}","values":{"t":1},"timestamp":${NOW - 5}}`,
        '{oops',
        `{"bucketId":"${B}","dataSourceId":"nope","values":{"t":1}}`,
        `{"bucketId":"${B}","dataSourceId":"${S2}","values":{"t":2}}`,
      ].join('\n'),
    );
    await expect(service.ingestBatch(apiKey('u1'), nd)).rejects.toMatchObject({ code: 'validation_failed' });
    const partial = await service.ingestBatch(apiKey('u1'), nd, { partial: true });
    expect(partial).toEqual({
      accepted: 2,
      rejected: [
        { line: 2, code: 'invalid_json', message: expect.any(String) },
        { line: 3, code: 'not_found', message: expect.any(String) },
      ],
    });
    const csv = parseCsvBatch(`timestamp,bucketId,dataSourceId,t,on\n${NOW - 7},${B},${S1},5,true\n,${B},${S2},,false\n`);
    expect(await service.ingestBatch(apiKey('u1'), csv)).toEqual({ accepted: 3, rejected: [] });
    expect((await store.countReadings([B], 0)).total).toBe(5);
    await expect(service.ingestBatch(apiKey('u1', ['read']), csv)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(service.ingestBatch(apiKey('u1'), parseNdjsonBatch('{bad'))).rejects.toMatchObject({ code: 'validation_failed' });
  });
});
