import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../clock.ts';
import { apiKey, createInMemoryDirectory } from '../ingest/in-memory-directory.test-support.ts';
import { silentLogger } from '../logger.ts';
import type { ReadingStore } from '../ports/reading-store.ts';
import type { Series } from '../readings.ts';
import { createSqliteReadingStore } from '../store/sqlite-readings-store.ts';
import { csvField } from './csv-lines.ts';
import { dataQuerySchema } from './query-schemas.ts';
import { createQueryService, type QueryResult, type QueryService } from './query-service.ts';

const B = 'b00000000000000000000001';
const OTHER = 'b00000000000000000000002';
const S1 = 'd00000000000000000000001';
const S2 = 'd00000000000000000000002';
const H = 3_600_000;
const clock = createManualClock(Date.UTC(2026, 10, 28, 12));
const NOW = clock.now();
const key = apiKey('u1', ['read']);

const series = (r: QueryResult): Series[] => {
  if (r.format !== 'json') throw new Error('expected json');
  return r.series;
};
async function lines(r: QueryResult): Promise<string[]> {
  if (r.format !== 'csv') throw new Error('expected csv');
  const out: string[] = [];
  for await (const l of r.lines) out.push(l);
  return out;
}

describe('query service', () => {
  let dir: string;
  let store: ReadingStore;
  let service: QueryService;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dakkio-query-'));
    store = await createSqliteReadingStore({ path: join(dir, 'readings.db'), logger: silentLogger });
    const { directory } = createInMemoryDirectory({
      [B]: { owner: 'u1', sources: [S1, S2] },
      [OTHER]: { owner: 'u2', sources: [S1] },
    });
    service = createQueryService({ store, directory, clock });
    await store.write([
      { bucketId: B, dataSourceId: S1, metric: 't', ts: NOW - 25 * H, value: 1 },
      { bucketId: B, dataSourceId: S1, metric: 't', ts: NOW - 2 * H, value: 2 },
      { bucketId: B, dataSourceId: S1, metric: 't', ts: NOW - 2 * H + 1000, value: 4 },
      { bucketId: B, dataSourceId: S1, metric: 'note', ts: NOW - H, value: 'a,"b"' },
      { bucketId: B, dataSourceId: S2, metric: 't', ts: NOW - H, value: true },
      { bucketId: B, dataSourceId: S2, metric: 't', ts: NOW, value: 9 }, // `to` defaults to now, exclusive
    ]);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('defaults to the last 24 hours of every source and metric', async () => {
    const got = series(await service.query(key, { bucketId: B }));
    expect(got.map((s) => [s.dataSourceId, s.metric, s.points.length])).toEqual([
      [S1, 'note', 1],
      [S1, 't', 2],
      [S2, 't', 1],
    ]);
  });

  it('takes ISO or epoch-ms bounds, source and metric filters, and a per-series limit', async () => {
    const got = series(
      await service.query(key, {
        bucketId: B,
        dataSourceId: S1,
        metrics: 't, note',
        from: new Date(NOW - 30 * H).toISOString(),
        to: String(NOW),
        limit: '2',
      }),
    );
    expect(got.find((s) => s.metric === 't')?.points).toEqual([
      [NOW - 25 * H, 1],
      [NOW - 2 * H, 2],
    ]);
    expect(got).toHaveLength(2);
  });

  it('aggregates on epoch-aligned intervals', async () => {
    const got = series(await service.query(key, { bucketId: B, metrics: 't', aggregate: 'avg', interval: '1h' }));
    expect(got).toEqual([
      { dataSourceId: S1, metric: 't', points: [[NOW - 2 * H, 3]] },
      { dataSourceId: S2, metric: 't', points: [[NOW - H, 1]] },
    ]);
  });

  it('accepts params the HTTP layer already parsed with dataQuerySchema', async () => {
    const parsed = dataQuerySchema.parse({ bucketId: B, metrics: 't', aggregate: 'count', interval: '1d', from: '0' });
    const got = series(await service.query(key, parsed));
    expect(got.map((s) => s.points)).toEqual([[[NOW - 36 * H, 1], [NOW - 12 * H, 2]], [[NOW - 12 * H, 1]]]);
  });

  it.each([
    [{ interval: '0s', aggregate: 'avg' }],
    [{ interval: '1h' }],
    [{ aggregate: 'avg' }],
    [{ interval: '1w', aggregate: 'avg' }],
    [{ interval: '400d', aggregate: 'avg' }],
    [{ aggregate: 'median', interval: '1h' }],
    [{ limit: '0' }],
    [{ limit: '1000001' }],
    [{ limit: '-5' }],
    [{ from: 'yesterday' }],
    [{ from: String(NOW), to: String(NOW - 1) }],
    [{ metrics: 'ok,bad name' }],
    [{ format: 'xml' }],
  ])('refuses %j with validation_failed', async (extra) => {
    await expect(service.query(key, { bucketId: B, ...extra } as never)).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('needs read (403) and ownership (404), and a known source (404)', async () => {
    await expect(service.query(apiKey('u1', ['write']), { bucketId: B })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(service.query(apiKey('u1', ['read'], [OTHER]), { bucketId: B })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(service.query(key, { bucketId: OTHER })).rejects.toMatchObject({ code: 'not_found' });
    await expect(service.query(key, { bucketId: B, dataSourceId: 'nope' })).rejects.toMatchObject({ code: 'not_found' });
    await expect(service.latest(key, OTHER)).rejects.toMatchObject({ code: 'not_found' });
    await expect(service.latest(apiKey('u1', ['write']), B)).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('streams CSV with ISO times and proper quoting, capped per series only when asked', async () => {
    const all = await lines(await service.query(key, { bucketId: B, format: 'csv', from: '0' }));
    expect(all).toEqual([
      'timestamp,dataSourceId,metric,value\n',
      `${new Date(NOW - H).toISOString()},${S1},note,"a,""b"""\n`,
      `${new Date(NOW - 25 * H).toISOString()},${S1},t,1\n`,
      `${new Date(NOW - 2 * H).toISOString()},${S1},t,2\n`,
      `${new Date(NOW - 2 * H + 1000).toISOString()},${S1},t,4\n`,
      `${new Date(NOW - H).toISOString()},${S2},t,true\n`,
    ]);
    const capped = await lines(await service.query(key, { bucketId: B, format: 'csv', from: '0', limit: '1' }));
    expect(capped.map((l) => l.split(',')[2])).toEqual(['metric', 'note', 't', 't']);
    const agg = await lines(await service.query(key, { bucketId: B, format: 'csv', metrics: 't', aggregate: 'max', interval: '1h' }));
    expect(agg).toEqual([
      'timestamp,dataSourceId,metric,value\n',
      `${new Date(NOW - 2 * H).toISOString()},${S1},t,4\n`,
      `${new Date(NOW - H).toISOString()},${S2},t,1\n`,
    ]);
  });

  it('latest returns one snapshot per source, or one source', async () => {
    expect(await service.latest(key, B, S1)).toEqual({
      dataSourceId: S1,
      values: { t: { value: 4, at: NOW - 2 * H + 1000 }, note: { value: 'a,"b"', at: NOW - H } },
    });
    const all = await service.latest(key, B);
    expect(Array.isArray(all) && all.map((s) => s.dataSourceId)).toEqual([S1, S2]);
    await expect(service.latest(key, B, 'nope')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('quotes CSV fields only when needed', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a\nb')).toBe('"a\nb"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
  });
});
