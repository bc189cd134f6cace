/**
 * ILP/HTTP writes: rows encoded by our own ILP encoder (questdb-ilp-encoder.ts, for
 * speed) and sent by @questdb/nodejs-client's HTTP transport, one request per chunk,
 * used by one caller at a time (the store serializes). The HTTP response (204) is the
 * acknowledgement: QuestDB has committed the rows to the table's WAL.
 */
import { createTransport, SenderOptions } from '@questdb/nodejs-client';
import { DakkioError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ReadingPoint } from '../readings.ts';
import { createIlpEncoder } from './questdb-ilp-encoder.ts';
import { assertTableName, type EncodedValue } from './questdb-schema.ts';

export interface EncodedPoint extends EncodedValue {
  bucketId: string;
  dataSourceId: string;
  metric: string;
  ts: number;
}

export interface QuestDbWriter {
  /** Resolves once QuestDB answered the HTTP request carrying these rows with success. */
  send(points: readonly ReadingPoint[]): Promise<void>;
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
  // protocol_version is pinned so building the options never calls /settings (it must
  // work while QuestDB is down); version 2 is what lets the encoder send binary doubles.
  // auto_flush is irrelevant here (no Sender buffers rows). stdlib_http: the default undici
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
  // The transport's path is /write?precision=n: the encoder writes nanosecond timestamps.
  const transport = createTransport(await SenderOptions.fromConfig(conf));
  const encoder = createIlpEncoder(table);
  const rowsPerRequest = options.rowsPerRequest ?? 50_000;
  let closed = false;

  return {
    async send(points) {
      if (closed) throw new DakkioError('store_unavailable', 'QuestDB writer is closed');
      // Big imports go as several requests so no single request body grows without bound;
      // a failure after some chunks makes the caller retry or spool the whole batch, which
      // DEDUP turns into a no-op for the chunks already taken.
      for (let i = 0; i < points.length; i += rowsPerRequest) {
        // The body is a view of the encoder's reusable buffer: safe because send() is awaited
        // (its retries included) before the next encode, and callers never overlap sends.
        await transport.send(encoder.encode(points, i, Math.min(points.length, i + rowsPerRequest)));
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      // Nothing is left buffered: every send() is one finished request.
      await transport.close();
    },
  };
}
