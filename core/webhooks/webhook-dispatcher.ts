/**
 * Works the webhook outbox: claims due deliveries, signs and sends them through
 * safe-fetch, logs every attempt and reschedules failures with exponential backoff
 * and jitter until a 2xx or the schedule runs out (then `failed`). Claims are
 * compare-and-set leases on next_attempt_at, so a crash mid-attempt only delays
 * a retry and several nodes can share one outbox.
 */
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.ts';
import { isDakkioError } from '../errors.ts';
import { createIdGenerator, type IdGenerator } from '../ids.ts';
import type { Logger } from '../logger.ts';
import type { MetadataDb } from '../store/metadata/sqlite-metadata-db.ts';
import { createSafeFetch, type SafeFetch } from './safe-fetch.ts';
import { webhookHeaders } from './signing.ts';

/** Delay before attempt n+1 (index n = attempts made so far); attempt 1 is immediate. */
export const DEFAULT_RETRY_SCHEDULE_MS = [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

export interface WebhookDispatcherOptions {
  db: MetadataDb;
  clock: Clock;
  logger: Logger;
  allowPrivate: boolean;
  /** total time per attempt (default 15000) */
  fetchTimeoutMs?: number;
  /** default 5000 */
  connectTimeoutMs?: number;
  retryScheduleMs?: readonly number[];
  /** ±fraction of each delay, so a burst of failures doesn't retry in lockstep (default 0.2) */
  jitter?: number;
  random?: () => number;
  /** background polling period; 0 disables the timer (tests call drain()) (default 1000) */
  pollIntervalMs?: number;
  /** parallel attempts (default 8) */
  concurrency?: number;
  ids?: IdGenerator;
}

export interface WebhookDispatcher {
  /** Ask for a drain soon (after an enqueue); cheap and coalesced. */
  wake(): void;
  /** Attempts everything due now and waits for those attempts; resolves with the number it started. */
  drain(): Promise<number>;
  /** Stops polling and waits for in-flight attempts. Idempotent. */
  close(): Promise<void>;
}

interface Claimed {
  id: string;
  body: string;
  attempts: number;
  url: string;
  secret: string;
}

export function createWebhookDispatcher(opts: WebhookDispatcherOptions): WebhookDispatcher {
  const { db, clock, logger } = opts;
  const fetchTimeoutMs = opts.fetchTimeoutMs ?? 15_000;
  const schedule = opts.retryScheduleMs ?? DEFAULT_RETRY_SCHEDULE_MS;
  const jitter = opts.jitter ?? 0.2;
  const random = opts.random ?? Math.random;
  const concurrency = opts.concurrency ?? 8;
  const pollIntervalMs = opts.pollIntervalMs ?? 1000;
  const ids = opts.ids ?? createIdGenerator(() => clock.now());
  // a claim outlives the longest possible attempt, so only a crashed attempt is ever re-claimed
  const leaseMs = fetchTimeoutMs + 30_000;
  const http: SafeFetch = createSafeFetch({
    allowPrivate: opts.allowPrivate,
    totalTimeoutMs: fetchTimeoutMs,
    connectTimeoutMs: Math.min(opts.connectTimeoutMs ?? 5000, fetchTimeoutMs),
  });

  const inFlight = new Set<Promise<void>>();
  let claiming: Promise<number> = Promise.resolve(0);
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let wakeQueued = false;

  async function claimBatch(limit: number): Promise<Claimed[]> {
    const now = clock.now();
    const due = await db
      .selectFrom('webhook_deliveries')
      .innerJoin('webhooks', 'webhooks.id', 'webhook_deliveries.webhook_id')
      .select([
        'webhook_deliveries.id as id',
        'webhook_deliveries.body as body',
        'webhook_deliveries.attempts as attempts',
        'webhook_deliveries.next_attempt_at as next',
        'webhooks.url as url',
        'webhooks.secret as secret',
      ])
      .where('webhook_deliveries.status', '=', 'pending')
      .where('webhook_deliveries.next_attempt_at', '<=', now)
      .orderBy('webhook_deliveries.next_attempt_at')
      .limit(limit)
      .execute();
    const claimed: Claimed[] = [];
    for (const d of due) {
      const res = await db
        .updateTable('webhook_deliveries')
        .set({ next_attempt_at: now + leaseMs })
        .where('id', '=', d.id)
        .where('status', '=', 'pending')
        .where('next_attempt_at', '=', Number(d.next))
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) {
        claimed.push({ id: d.id, body: d.body, attempts: Number(d.attempts), url: d.url, secret: d.secret });
      }
    }
    return claimed;
  }

  function backoff(attemptsMade: number): number {
    const base = schedule[attemptsMade] ?? 0;
    return Math.round(base * (1 - jitter + 2 * jitter * random()));
  }

  async function attempt(d: Claimed): Promise<void> {
    const attemptNo = d.attempts + 1;
    const startedAt = clock.now();
    const t0 = performance.now();
    let status: number | null = null;
    let error: string | null = null;
    let responseBody: string | null = null;
    try {
      const res = await http.post(d.url, webhookHeaders(d.secret, d.id, startedAt, d.body), d.body);
      status = res.status;
      responseBody = res.body;
      if (status < 200 || status > 299) error = `HTTP ${status}`;
    } catch (err) {
      error = describeError(err);
    }
    const latencyMs = Math.round(performance.now() - t0);
    const ok = error === null;
    const now = clock.now();
    const exhausted = !ok && attemptNo >= schedule.length;
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('webhook_attempts')
        .values({ id: ids(), delivery_id: d.id, attempt: attemptNo, at: startedAt, status_code: status, latency_ms: latencyMs, error, response_body: responseBody })
        .execute();
      await trx
        .updateTable('webhook_deliveries')
        .set({
          attempts: attemptNo,
          status: ok ? 'delivered' : exhausted ? 'failed' : 'pending',
          next_attempt_at: ok || exhausted ? null : now + backoff(attemptNo),
          last_status_code: status,
          last_error: error,
          delivered_at: ok ? now : null,
        })
        .where('id', '=', d.id)
        .execute();
    });
    logger[ok ? 'debug' : 'warn']({ deliveryId: d.id, attempt: attemptNo, status, latencyMs, error }, ok ? 'webhook delivered' : 'webhook attempt failed');
  }

  /**
   * Claims due deliveries into free slots and starts them without waiting, so one
   * hanging receiver holds a slot, not the whole outbox. Claims are serialised.
   */
  function fill(): Promise<number> {
    const run = claiming.then(async () => {
      const free = concurrency - inFlight.size;
      if (closed || free <= 0) return 0;
      const batch = await claimBatch(free);
      for (const d of batch) {
        const p: Promise<void> = attempt(d)
          .catch((err) => logger.error({ err, deliveryId: d.id }, 'webhook attempt bookkeeping failed'))
          .finally(() => {
            inFlight.delete(p);
            wake();
          });
        inFlight.add(p);
      }
      return batch.length;
    });
    claiming = run.catch((err) => {
      logger.error({ err }, 'webhook claim failed');
      return 0;
    });
    return run;
  }

  async function drain(): Promise<number> {
    let total = 0;
    for (;;) {
      total += await fill();
      if (inFlight.size === 0) return total;
      await Promise.race(inFlight);
    }
  }

  function wake(): void {
    if (closed || wakeQueued) return;
    wakeQueued = true;
    setImmediate(() => {
      wakeQueued = false;
      fill().catch(() => {});
    });
  }

  function schedulePoll(): void {
    if (closed || pollIntervalMs <= 0) return;
    timer = setTimeout(() => {
      fill().finally(schedulePoll).catch(() => {});
    }, pollIntervalMs);
    timer.unref();
  }
  schedulePoll();

  return {
    wake,
    drain,
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      await claiming;
      await Promise.all(inFlight);
      await http.close();
    },
  };
}

function describeError(err: unknown): string {
  if (isDakkioError(err)) return `${err.details?.[0]?.code ?? err.code}: ${err.message}`.slice(0, 500);
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const name = err.name === 'TimeoutError' || err.name === 'AbortError' ? 'timeout' : undefined;
    return [name ?? (typeof code === 'string' ? code : err.name), err.message].filter(Boolean).join(': ').slice(0, 500);
  }
  return String(err).slice(0, 500);
}
