/**
 * The one entry point for storing readings, shared by HTTP (single, batch) and
 * MQTT: rights, ownership, per-reading validation, then the group-commit pipeline.
 * Resolves only after the readings are durably stored.
 */
import { keyAllows, type ApiKeyPrincipal } from '../auth/principal.ts';
import type { Clock } from '../clock.ts';
import { DakkioError, type ErrorDetail } from '../errors.ts';
import type { ResourceDirectory } from '../ports/resource-directory.ts';
import type { ReadingPoint, ReadingValue } from '../readings.ts';
import type { ParsedBatch } from './batch-import-parsers.ts';
import type { IngestPipeline } from './ingest-pipeline.ts';
import { ASK_ZOD, quickTimestamp, quickValues } from './reading-fast-check.ts';
import { readingInputSchema } from './reading-input.ts';

export interface ReadingSubmission {
  dataSourceId: string;
  values: unknown;
  timestamp?: unknown;
}

export interface IngestOptions {
  /** store the valid readings and list the rest (default: all-or-nothing) */
  partial?: boolean;
}

export interface IngestResult {
  /** number of values stored */
  accepted: number;
  rejected: { index: number; code: string; message: string }[];
}

export interface IngestService {
  /**
   * Stores readings of one bucket. Throws forbidden (key lacks `write` on the bucket),
   * not_found (no such bucket for this owner; or, for a lone reading, no such source),
   * validation_failed (all-or-nothing mode with any bad reading: details carry
   * index, code and message), or the store's error.
   */
  ingest(
    principal: ApiKeyPrincipal,
    bucketId: string,
    readings: readonly ReadingSubmission[],
    options?: IngestOptions,
  ): Promise<IngestResult>;
  /** NDJSON / CSV batches: as ingest(), with rejections keyed by body line. */
  ingestBatch(
    principal: ApiKeyPrincipal,
    batch: ParsedBatch,
    options?: IngestOptions,
  ): Promise<{ accepted: number; rejected: { line: number; code: string; message: string }[] }>;
}

export function createIngestService(deps: {
  pipeline: IngestPipeline;
  directory: ResourceDirectory;
  clock: Clock;
}): IngestService {
  const { pipeline, directory, clock } = deps;

  async function authorize(principal: ApiKeyPrincipal, bucketId: string): Promise<void> {
    // Decided before any lookup, so the answer says nothing about whether the bucket exists.
    if (!keyAllows(principal, bucketId, 'write')) throw new DakkioError('forbidden', 'this key may not write to this bucket');
    if ((await directory.bucketOwner(bucketId)) !== principal.ownerId) throw new DakkioError('not_found', 'bucket not found');
  }

  async function prepare(bucketId: string, readings: readonly ReadingSubmission[]) {
    const receivedAt = clock.now();
    const known = new Map<string, boolean>();
    const points: ReadingPoint[] = [];
    const sources = new Set<string>();
    const rejected: IngestResult['rejected'] = [];
    for (let index = 0; index < readings.length; index++) {
      const r = readings[index]!;
      const dataSourceId = typeof r?.dataSourceId === 'string' ? r.dataSourceId : '';
      let exists = known.get(dataSourceId);
      if (exists === undefined) {
        exists = dataSourceId !== '' && (await directory.sourceExists(bucketId, dataSourceId));
        known.set(dataSourceId, exists);
      }
      if (!exists) {
        rejected.push({ index, code: 'not_found', message: 'data source not found' });
        continue;
      }
      let values: Record<string, ReadingValue>;
      let ts = quickTimestamp(r.timestamp);
      if (ts !== ASK_ZOD && quickValues(r.values)) values = r.values;
      else {
        const parsed = readingInputSchema.safeParse({ values: r.values, timestamp: r.timestamp });
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const path = issue?.path.map(String).join('.');
          rejected.push({ index, code: 'validation_failed', message: path ? `${path}: ${issue?.message}` : String(issue?.message) });
          continue;
        }
        values = parsed.data.values;
        ts = parsed.data.timestamp;
      }
      const at = ts ?? receivedAt;
      for (const metric in values) points.push({ bucketId, dataSourceId, metric, ts: at, value: values[metric]! });
      sources.add(dataSourceId);
    }
    return { points, sources, rejected, receivedAt };
  }

  async function commit(bucketId: string, prepared: Awaited<ReturnType<typeof prepare>>): Promise<number> {
    if (prepared.points.length === 0) return 0;
    await pipeline.submit(prepared.points);
    directory.markSourcesSeen(bucketId, prepared.sources, prepared.receivedAt);
    return prepared.points.length;
  }

  const toDetails = (rejected: { index?: number; line?: number; code: string; message: string }[]): ErrorDetail[] =>
    rejected.map((r) => ({ ...r }));

  return {
    async ingest(principal, bucketId, readings, options = {}) {
      await authorize(principal, bucketId);
      const prepared = await prepare(bucketId, readings);
      const first = prepared.rejected[0];
      if (first && !options.partial) {
        if (readings.length === 1) {
          // A lone reading (POST /api/data, one MQTT message) answers with its own error.
          throw new DakkioError(first.code === 'not_found' ? 'not_found' : 'validation_failed', first.message);
        }
        throw new DakkioError('validation_failed', `${prepared.rejected.length} of ${readings.length} readings are invalid`, {
          details: toDetails(prepared.rejected),
        });
      }
      return { accepted: await commit(bucketId, prepared), rejected: prepared.rejected };
    },

    async ingestBatch(principal, batch, options = {}) {
      if (batch.bucketId === null) {
        if (options.partial) return { accepted: 0, rejected: batch.errors };
        throw new DakkioError('validation_failed', 'no usable line in the batch', { details: toDetails(batch.errors) });
      }
      await authorize(principal, batch.bucketId);
      const prepared = await prepare(batch.bucketId, batch.readings);
      const rejected = [
        ...batch.errors,
        ...prepared.rejected.map(({ index, code, message }) => ({ line: batch.readings[index]!.line, code, message })),
      ].sort((a, b) => a.line - b.line);
      if (rejected.length > 0 && !options.partial) {
        throw new DakkioError('validation_failed', `${rejected.length} lines are invalid`, { details: toDetails(rejected) });
      }
      return { accepted: await commit(batch.bucketId, prepared), rejected };
    },
  };
}
