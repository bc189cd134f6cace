/**
 * Reads for GET /api/data and GET /api/data/latest: rights, ownership, defaults,
 * then the ReadingStore. Times stay epoch ms; the HTTP layer renders ISO.
 */
import { keyAllows, type ApiKeyPrincipal } from '../auth/principal.ts';
import type { Clock } from '../clock.ts';
import { DakkioError } from '../errors.ts';
import { zodDetails } from '../validation.ts';
import type { ReadingStore } from '../ports/reading-store.ts';
import type { ResourceDirectory } from '../ports/resource-directory.ts';
import type { ReadingValue, Series, SeriesSelector } from '../readings.ts';
import { CSV_HEADER, csvLine } from './csv-lines.ts';
import { DEFAULT_QUERY_LIMIT, dataQueryLenientSchema, type DataQuery, type DataQueryParams } from './query-schemas.ts';

const DAY_MS = 86_400_000;

export interface LatestSnapshot {
  dataSourceId: string;
  /** at = epoch ms of the newest value */
  values: Record<string, { value: ReadingValue; at: number }>;
}

export type QueryResult =
  | { format: 'json'; series: Series[] }
  /** each string is one CSV line ending in \n, the header first */
  | { format: 'csv'; lines: AsyncIterable<string> };

export interface QueryService {
  /**
   * GET /api/data. `params` are the raw query strings (or a DataQuery already parsed
   * with dataQuerySchema). Rights are checked before this resolves, so errors
   * (validation_failed, forbidden, not_found) surface before a CSV response starts.
   * CSV of raw data streams from the store; its `limit` caps points per series only when given.
   */
  query(principal: ApiKeyPrincipal, params: DataQueryParams | DataQuery): Promise<QueryResult>;
  /**
   * GET /api/data/latest: with a source, its snapshot; without, one snapshot per
   * source of the bucket (sorted by source id).
   */
  latest(principal: ApiKeyPrincipal, bucketId: string, dataSourceId?: string): Promise<LatestSnapshot | LatestSnapshot[]>;
}

export function createQueryService(deps: {
  store: ReadingStore;
  directory: ResourceDirectory;
  clock: Clock;
}): QueryService {
  const { store, directory, clock } = deps;

  async function authorize(principal: ApiKeyPrincipal, bucketId: string, dataSourceId?: string): Promise<void> {
    if (!keyAllows(principal, bucketId, 'read')) throw new DakkioError('forbidden', 'this key may not read this bucket');
    if ((await directory.bucketOwner(bucketId)) !== principal.ownerId) throw new DakkioError('not_found', 'bucket not found');
    if (dataSourceId !== undefined && !(await directory.sourceExists(bucketId, dataSourceId))) {
      throw new DakkioError('not_found', 'data source not found');
    }
  }

  async function prepare(
    principal: ApiKeyPrincipal,
    params: DataQueryParams | DataQuery,
  ): Promise<{ q: DataQuery; selector: SeriesSelector }> {
    const parsed = dataQueryLenientSchema.safeParse(params);
    if (!parsed.success) {
      throw new DakkioError('validation_failed', 'invalid query', { details: zodDetails(parsed.error) });
    }
    const q = parsed.data;
    await authorize(principal, q.bucketId, q.dataSourceId);
    const now = clock.now();
    const to = q.to ?? now;
    return {
      q,
      selector: {
        bucketId: q.bucketId,
        dataSourceIds: q.dataSourceId === undefined ? undefined : [q.dataSourceId],
        metrics: q.metrics,
        from: q.from ?? Math.min(to, now - DAY_MS),
        to,
      },
    };
  }

  async function* csv(selector: SeriesSelector, limitPerSeries: number | undefined): AsyncIterable<string> {
    yield CSV_HEADER;
    let key = '';
    let n = 0;
    for await (const row of store.streamRaw(selector)) {
      if (limitPerSeries !== undefined) {
        const k = `${row.dataSourceId}\u0000${row.metric}`;
        n = k === key ? n + 1 : 1;
        key = k;
        // Rows come ordered by source, metric, time: the cap is "oldest first" per series.
        if (n > limitPerSeries) continue;
      }
      yield csvLine(row.ts, row.dataSourceId, row.metric, row.value);
    }
  }

  async function* csvOf(series: Series[]): AsyncIterable<string> {
    yield CSV_HEADER;
    const ordered = [...series].sort((a, b) => a.dataSourceId.localeCompare(b.dataSourceId) || a.metric.localeCompare(b.metric));
    for (const s of ordered) for (const [ts, v] of s.points) yield csvLine(ts, s.dataSourceId, s.metric, v);
  }

  function snapshots(values: Awaited<ReturnType<ReadingStore['latest']>>): LatestSnapshot[] {
    const bySource = new Map<string, LatestSnapshot>();
    for (const v of values) {
      let snap = bySource.get(v.dataSourceId);
      if (!snap) {
        snap = { dataSourceId: v.dataSourceId, values: {} };
        bySource.set(v.dataSourceId, snap);
      }
      snap.values[v.metric] = { value: v.value, at: v.ts };
    }
    return [...bySource.values()].sort((a, b) => a.dataSourceId.localeCompare(b.dataSourceId));
  }

  return {
    async query(principal, params) {
      const { q, selector } = await prepare(principal, params);
      const csvOut = q.format === 'csv';
      if (q.aggregate !== undefined && q.interval !== undefined) {
        const series = await store.queryAggregate({
          ...selector,
          fn: q.aggregate,
          intervalMs: q.interval,
          limitPerSeries: q.limit ?? (csvOut ? Number.MAX_SAFE_INTEGER : DEFAULT_QUERY_LIMIT),
        });
        return csvOut ? { format: 'csv', lines: csvOf(series) } : { format: 'json', series };
      }
      if (csvOut) return { format: 'csv', lines: csv(selector, q.limit) };
      return { format: 'json', series: await store.queryRaw({ ...selector, limitPerSeries: q.limit ?? DEFAULT_QUERY_LIMIT }) };
    },

    async latest(principal, bucketId, dataSourceId) {
      await authorize(principal, bucketId, dataSourceId);
      const all = snapshots(await store.latest(bucketId, dataSourceId));
      if (dataSourceId === undefined) return all;
      return all[0] ?? { dataSourceId, values: {} };
    },
  };
}
