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

function ownedBy(principal: ApiKeyPrincipal, owner: string | null): void {
  if (owner !== principal.ownerId) throw new DakkioError('not_found', 'bucket not found');
}

export function createIngestService(deps: {
  pipeline: IngestPipeline;
  directory: ResourceDirectory;
  clock: Clock;
}): IngestService {
  const { pipeline, directory, clock } = deps;

  /** Synchronous when the directory's cache knows the bucket (the hot path); a promise otherwise. */
  function authorize(principal: ApiKeyPrincipal, bucketId: string): Promise<void> | undefined {
    // Decided before any lookup, so the answer says nothing about whether the bucket exists.
    if (!keyAllows(principal, bucketId, 'write')) throw new DakkioError('forbidden', 'this key may not write to this bucket');
    const cached = directory.cachedBucketOwner?.(bucketId);
    if (cached === undefined) return directory.bucketOwner(bucketId).then((owner) => ownedBy(principal, owner));
    ownedBy(principal, cached);
    return undefined;
  }

  const sourceOf = (r: ReadingSubmission | undefined) => (typeof r?.dataSourceId === 'string' ? r.dataSourceId : '');

  /** Sources the directory's cache cannot vouch for: null when there are none (no await needed). */
  function unknownSources(bucketId: string, readings: readonly ReadingSubmission[]): string[] | null {
    let out: string[] | null = null;
    let last = '';
    for (const r of readings) {
      const id = sourceOf(r);
      if (id === '' || id === last) continue;
      last = id;
      if (directory.knownSource?.(bucketId, id)) continue;
      out ??= [];
      if (!out.includes(id)) out.push(id);
    }
    return out;
  }

  async function lookUp(bucketId: string, ids: readonly string[]): Promise<Map<string, boolean>> {
    const found = new Map<string, boolean>();
    for (const id of ids) found.set(id, await directory.sourceExists(bucketId, id));
    return found;
  }

  /** Synchronous: every source is either in `looked` or known to the directory's cache. */
  function prepare(bucketId: string, readings: readonly ReadingSubmission[], looked: Map<string, boolean> | null) {
    const receivedAt = clock.now();
    const points: ReadingPoint[] = [];
    const sources = new Set<string>();
    const rejected: IngestResult['rejected'] = [];
    for (let index = 0; index < readings.length; index++) {
      const r = readings[index]!;
      const dataSourceId = sourceOf(r);
      // looked === null: unknownSources() found every source in the cache, synchronously just before
      const exists =
        dataSourceId !== '' && (looked === null || (looked.get(dataSourceId) ?? directory.knownSource?.(bucketId, dataSourceId) === true));
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

  async function commit(bucketId: string, prepared: ReturnType<typeof prepare>): Promise<number> {
    if (prepared.points.length === 0) return 0;
    await pipeline.submit(prepared.points);
    directory.markSourcesSeen(bucketId, prepared.sources, prepared.receivedAt);
    return prepared.points.length;
  }

  type Prepared = ReturnType<typeof prepare>;
  /**
   * authorize + prepare, synchronous when the directory's cache can answer (every MQTT
   * message of a known device): no promise and no event-loop hop on the hot path.
   * (No named closures here: tsx's keepNames turns each into a defineProperty call.)
   */
  function check(principal: ApiKeyPrincipal, bucketId: string, readings: readonly ReadingSubmission[]): Prepared | Promise<Prepared> {
    const auth = authorize(principal, bucketId);
    return auth ? auth.then(() => checkSources(bucketId, readings)) : checkSources(bucketId, readings);
  }

  function checkSources(bucketId: string, readings: readonly ReadingSubmission[]): Prepared | Promise<Prepared> {
    const unknown = unknownSources(bucketId, readings);
    if (!unknown) return prepare(bucketId, readings, null);
    return lookUp(bucketId, unknown).then((looked) => prepare(bucketId, readings, looked));
  }

  const toDetails = (rejected: { index?: number; line?: number; code: string; message: string }[]): ErrorDetail[] =>
    rejected.map((r) => ({ ...r }));

  return {
    async ingest(principal, bucketId, readings, options = {}) {
      let prepared = check(principal, bucketId, readings);
      if (prepared instanceof Promise) prepared = await prepared;
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
      let prepared = check(principal, batch.bucketId, batch.readings);
      if (prepared instanceof Promise) prepared = await prepared;
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
