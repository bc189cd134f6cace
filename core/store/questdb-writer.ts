/**
 * ILP/HTTP writes with @questdb/nodejs-client: one Sender per writer, used by one
 * caller at a time (the store serializes), rows built synchronously from table() to
 * at() with explicit millisecond timestamps, and a flush whose HTTP response is the
 * acknowledgement.
 */
import { Sender } from '@questdb/nodejs-client';
import { DakkioError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { assertTableName, type EncodedValue } from './questdb-schema.ts';

export interface EncodedPoint extends EncodedValue {
  bucketId: string;
  dataSourceId: string;
  metric: string;
  ts: number;
}

export interface QuestDbWriter {
  /** Resolves once QuestDB answered the HTTP request carrying these rows with success. */
  send(points: readonly EncodedPoint[]): Promise<void>;
  close(): Promise<void>;
}

export interface QuestDbWriterOptions {
  httpUrl: string;
  table: string;
  logger: Logger;
  /** How long the client keeps retrying a failed request before giving up (ms). */
  retryTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Rows per ILP/HTTP request; larger batches are split. Default 50,000. */
  rowsPerRequest?: number;
}

/** A failure that means "QuestDB is not there": the caller spools instead of rejecting. */
export function isUnreachable(e: unknown): boolean {
  if (e instanceof DakkioError) return e.code === 'store_unavailable';
  const msg = (e as Error)?.message ?? '';
  const code = (e as { code?: string })?.code ?? '';
  const status = /statusCode=(\d+)/.exec(msg);
  if (status) return Number(status[1]) >= 500;
  return /ECONN|EPIPE|ETIMEDOUT|UND_ERR|timeout|socket|fetch failed|other side closed/i.test(`${code} ${msg}`);
}

export async function createQuestDbWriter(options: QuestDbWriterOptions): Promise<QuestDbWriter> {
  const table = assertTableName(options.table);
  const url = new URL(options.httpUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DakkioError('validation_failed', `QuestDB URL must be http(s): ${options.httpUrl}`);
  }
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  // protocol_version is pinned so building the sender never calls /settings (it must
  // work while QuestDB is down); auto_flush off so only our flush() sends, and we
  // know exactly which rows a response acknowledged. stdlib_http: the default undici
  // transport retries a refused connection forever (RetryAgent, maxRetries Infinity;
  // its abort signal did not end it here), so a write during an outage never settled;
  // the node:http transport fails fast on a refused connection and bounds retries of
  // timeouts/5xx by retry_timeout, which is what lets us fall back to the spool.
  const conf = [
    `${url.protocol.replace(':', '')}::addr=${url.hostname}:${port}`,
    'protocol_version=2',
    'auto_flush=off',
    'stdlib_http=on',
    `retry_timeout=${options.retryTimeoutMs ?? 3_000}`,
    `request_timeout=${options.requestTimeoutMs ?? 10_000}`,
  ].join(';');
  const sender = await Sender.fromConfig(conf);
  const rowsPerRequest = options.rowsPerRequest ?? 50_000;
  let closed = false;

  const sendChunk = async (points: readonly EncodedPoint[]) => {
    // A previous failed flush already compacted its rows away; start clean anyway.
    sender.reset();
    for (const p of points) {
      sender.table(table).symbol('bucket', p.bucketId).symbol('source', p.dataSourceId).symbol('metric', p.metric).symbol('kind', p.kind);
      if (p.num !== null) sender.floatColumn('num', p.num);
      if (p.str !== null) sender.stringColumn('str', p.str);
      // at() only awaits a flush when auto-flush is on; it is off, so this never yields mid-row.
      await sender.at(p.ts, 'ms');
    }
    try {
      await sender.flush();
    } catch (e) {
      sender.reset();
      throw e;
    }
  };

  return {
    async send(points) {
      if (closed) throw new DakkioError('store_unavailable', 'QuestDB writer is closed');
      // Big imports go as several requests so the client's buffer (max_buf_size) never
      // overflows; a failure after some chunks makes the caller retry or spool the whole
      // batch, which DEDUP turns into a no-op for the chunks already taken.
      for (let i = 0; i < points.length; i += rowsPerRequest) {
        await sendChunk(points.slice(i, i + rowsPerRequest));
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      // Nothing is left buffered: send() flushes or resets every time.
      sender.reset();
      await sender.close();
    },
  };
}
