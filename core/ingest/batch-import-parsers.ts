/**
 * Parsers for POST /api/data/batch in NDJSON and CSV form. They only shape lines
 * into `{dataSourceId, values, timestamp}` items; the ingest service validates the
 * items (so `?partial=true` works the same for every format). Structural problems
 * of a line are reported with its 1-based line number.
 *
 * Every line must name the same bucket as the first one: one request is one
 * bucket's ingest (and one permission check), as in the JSON form.
 */
import { parse } from 'csv-parse/sync';
import { DakkioError } from '../errors.ts';
import { MAX_READINGS_PER_BATCH, parseTextValue } from './reading-input.ts';

export interface BatchLine {
  /** 1-based line number in the request body */
  line: number;
  dataSourceId: string;
  values: unknown;
  timestamp?: unknown;
}

export interface BatchLineError {
  line: number;
  code: 'validation_failed' | 'invalid_json';
  message: string;
}

export interface ParsedBatch {
  /** the bucket named by the first usable line; null when no line was usable */
  bucketId: string | null;
  readings: BatchLine[];
  errors: BatchLineError[];
}

function tooMany(): DakkioError {
  return new DakkioError('payload_too_large', `at most ${MAX_READINGS_PER_BATCH} readings per request`);
}

function checkBucket(batch: ParsedBatch, line: number, bucketId: unknown): boolean {
  if (typeof bucketId !== 'string' || bucketId === '') {
    batch.errors.push({ line, code: 'validation_failed', message: 'bucketId is required' });
    return false;
  }
  batch.bucketId ??= bucketId;
  if (bucketId !== batch.bucketId) {
    batch.errors.push({ line, code: 'validation_failed', message: 'every line must name the same bucketId' });
    return false;
  }
  return true;
}

/** application/x-ndjson: one `{bucketId, dataSourceId, values, timestamp?}` per line; blank lines are skipped. */
export function parseNdjsonBatch(text: string): ParsedBatch {
  const batch: ParsedBatch = { bucketId: null, readings: [], errors: [] };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    const line = i + 1;
    if (batch.readings.length + batch.errors.length >= MAX_READINGS_PER_BATCH) throw tooMany();
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch {
      batch.errors.push({ line, code: 'invalid_json', message: 'line is not valid JSON' });
      continue;
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      batch.errors.push({ line, code: 'validation_failed', message: 'line must be a JSON object' });
      continue;
    }
    const { bucketId, dataSourceId, values, timestamp } = obj as Record<string, unknown>;
    if (!checkBucket(batch, line, bucketId)) continue;
    if (typeof dataSourceId !== 'string' || dataSourceId === '') {
      batch.errors.push({ line, code: 'validation_failed', message: 'dataSourceId is required' });
      continue;
    }
    batch.readings.push(timestamp === undefined ? { line, dataSourceId, values } : { line, dataSourceId, values, timestamp });
  }
  return batch;
}

const CSV_FIXED = ['timestamp', 'bucketId', 'dataSourceId'] as const;

/**
 * text/csv with header `timestamp,bucketId,dataSourceId,<metric>,...`. An empty
 * cell means "no value for that metric"; an empty timestamp means the receive
 * time; a timestamp of digits only is epoch milliseconds. Cells are typed like
 * MQTT text values (true/false, numbers, else strings).
 */
export function parseCsvBatch(text: string): ParsedBatch {
  const batch: ParsedBatch = { bucketId: null, readings: [], errors: [] };
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      bom: true,
      trim: true,
    }) as unknown as typeof records;
  } catch (err) {
    const line = (err as { lines?: number }).lines ?? 1;
    throw new DakkioError('validation_failed', 'malformed CSV', {
      details: [{ line, message: err instanceof Error ? err.message : 'malformed CSV' }],
    });
  }
  const header = records[0]?.record;
  if (!header || CSV_FIXED.some((name, i) => header[i] !== name) || header.length < 4) {
    throw new DakkioError('validation_failed', 'CSV header must be timestamp,bucketId,dataSourceId,<metric>,...', {
      details: [{ line: 1, message: 'bad header' }],
    });
  }
  const metrics = header.slice(CSV_FIXED.length);
  if (records.length - 1 > MAX_READINGS_PER_BATCH) throw tooMany();
  for (const { record, info } of records.slice(1)) {
    const line = info.lines;
    if (record.length !== header.length) {
      batch.errors.push({ line, code: 'validation_failed', message: `expected ${header.length} columns, got ${record.length}` });
      continue;
    }
    const [ts, bucketId, dataSourceId] = record as [string, string, string];
    if (!checkBucket(batch, line, bucketId)) continue;
    if (dataSourceId === '') {
      batch.errors.push({ line, code: 'validation_failed', message: 'dataSourceId is required' });
      continue;
    }
    // Object.create(null): a "__proto__" column must become an own key (and then be
    // refused by validation) rather than silently set the object's prototype.
    const values: Record<string, unknown> = Object.create(null);
    metrics.forEach((metric, k) => {
      const cell = record[CSV_FIXED.length + k]!;
      if (cell !== '') values[metric] = parseTextValue(cell);
    });
    const reading: BatchLine = { line, dataSourceId, values };
    if (ts !== '') reading.timestamp = /^\d+$/.test(ts) ? Number(ts) : ts;
    batch.readings.push(reading);
  }
  return batch;
}
