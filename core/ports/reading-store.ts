import type {
  AggregateQuery,
  BucketStats,
  LatestValue,
  RawQuery,
  ReadingPoint,
  Series,
  SeriesSelector,
  ReadingValue,
} from '../readings.ts';

/** A worker thread's committed V8 heap, MiB: the whole of it and its biggest spaces. */
export interface WorkerHeapFigures {
  heapMiB: number;
  newMiB: number;
  oldMiB: number;
  largeMiB: number;
}

export interface ReadingStoreHealth {
  ok: boolean;
  /** e.g. "degraded" while a QuestDB store spools locally */
  state: 'ok' | 'degraded' | 'down';
  detail?: Record<string, unknown>;
}

/**
 * Where readings live. Implementations: core/store/sqlite-readings-store.ts (embedded)
 * and core/store/questdb-readings-store.ts (scale). One contract test suite
 * (core/store/reading-store.contract.ts) runs against both.
 *
 * Semantics every implementation keeps:
 * - write() resolves only once every point is durable; a rejected write stored nothing
 *   that the caller will be told about (it may be retried: writes are idempotent).
 * - (bucketId, dataSourceId, metric, ts) is unique: writing it again replaces the value.
 * - Ranges are half-open [from, to); aggregate buckets are aligned to the Unix epoch.
 * - Errors are DakkioError('store_unavailable') when the backend can't be reached.
 */
export interface ReadingStore {
  write(points: readonly ReadingPoint[]): Promise<void>;
  queryRaw(query: RawQuery): Promise<Series[]>;
  queryAggregate(query: AggregateQuery): Promise<Series[]>;
  /** Raw points for CSV export, streamed so large ranges never sit in memory. Ordered by source, metric, ts. */
  streamRaw(query: SeriesSelector & { limit?: number }): AsyncIterable<{
    dataSourceId: string;
    metric: string;
    ts: number;
    value: ReadingValue;
  }>;
  /** Newest value of every (source, metric) in the bucket (optionally one source). */
  latest(bucketId: string, dataSourceId?: string): Promise<LatestValue[]>;
  stats(bucketId: string): Promise<BucketStats>;
  /** Count of all readings and of readings with ts >= sinceMs, over the given buckets. */
  countReadings(bucketIds: readonly string[], sinceMs: number): Promise<{ total: number; since: number }>;
  deleteBucket(bucketId: string): Promise<void>;
  deleteDataSource(bucketId: string, dataSourceId: string): Promise<void>;
  /** Retention: drop every reading of the bucket with ts < cutoffMs. */
  deleteBefore(bucketId: string, cutoffMs: number): Promise<void>;
  health(): Promise<ReadingStoreHealth>;
  /**
   * Optional: hands back memory that refills on demand (caches) and what the store's own threads hold
   * dead (their isolates' garbage). Called when the process has gone quiet.
   */
  releaseMemory?(): void;
  /**
   * Optional: the committed heap (MiB) of each of the store's worker threads that answers within
   * `timeoutMs`, by worker name, for the quiet-time release's log line; a busy or absent worker is left out.
   */
  workerHeaps?(timeoutMs: number): Promise<Record<string, WorkerHeapFigures>>;
  /** Idempotent. Flushes anything buffered. */
  close(): Promise<void>;
}
