/**
 * Group commit in front of a ReadingStore. Concurrent submit() calls are coalesced
 * into one store.write (one transaction, one durability point), one write at a
 * time; each caller is acknowledged only once the write that carried its points
 * has committed. While a write is in flight the next group accumulates, so the
 * batch size adapts to the store's speed. When the store is idle, maxDelayMs
 * holds the first submit briefly (unless minBatchPoints are already waiting):
 * paced traffic brings about one message per socket read, and without the wait
 * each would otherwise become its own small transaction (~20 points at 20k msg/s).
 */
import { DakkioError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ReadingStore } from '../ports/reading-store.ts';
import type { ReadingPoint } from '../readings.ts';

export interface IngestPipeline {
  /** Resolves once `points` are durably stored; rejects with the store's DakkioError. */
  submit(points: readonly ReadingPoint[]): Promise<void>;
  /** Called after each commit with the committed points, after their submitters were acknowledged. Returns an unsubscribe function. */
  onCommitted(listener: (points: readonly ReadingPoint[]) => void): () => void;
  /** Resolves when everything submitted before the call has been written (or has failed). */
  flush(): Promise<void>;
  /** Flushes what is pending; later submits reject. Idempotent. Does not close the store. */
  close(): Promise<void>;
}

export interface IngestPipelineOptions {
  store: ReadingStore;
  logger: Logger;
  /** Points per store.write; a single larger submit is written alone, never split (default 50,000). */
  maxBatchPoints?: number;
  /** Extra wait to gather a group when the store is idle (default 0: the next event-loop turn). */
  maxDelayMs?: number;
  /** Pending points that end the maxDelayMs wait early (default maxBatchPoints). */
  minBatchPoints?: number;
  /** Points allowed to wait; beyond it submit() rejects with rate_limited (default 2,000,000). */
  maxPendingPoints?: number;
}

interface Entry {
  points: readonly ReadingPoint[];
  resolve(): void;
  reject(err: unknown): void;
  promise: Promise<void>;
}

const ignore = () => undefined;

export function createIngestPipeline(options: IngestPipelineOptions): IngestPipeline {
  const { store } = options;
  const logger = options.logger.child({ component: 'ingest-pipeline' });
  const maxBatchPoints = options.maxBatchPoints ?? 50_000;
  const maxDelayMs = options.maxDelayMs ?? 0;
  const minBatchPoints = Math.min(options.minBatchPoints ?? maxBatchPoints, maxBatchPoints);
  const maxPendingPoints = options.maxPendingPoints ?? 2_000_000;

  const listeners = new Set<(points: readonly ReadingPoint[]) => void>();
  const pending: Entry[] = [];
  let pendingPoints = 0;
  let inFlight: Entry[] = [];
  let writing = false;
  let timer: NodeJS.Timeout | null = null;
  let immediate: NodeJS.Immediate | null = null;
  let closed = false;
  let closing: Promise<void> | null = null;

  function schedule(now: boolean): void {
    if (writing || immediate) return; // a running loop picks pending entries up when its write ends
    if (!now && maxDelayMs > 0) {
      timer ??= setTimeout(run, maxDelayMs);
      return;
    }
    if (timer) clearTimeout(timer);
    timer = null;
    immediate = setImmediate(run);
  }

  function takeGroup(): Entry[] {
    const group: Entry[] = [];
    let n = 0;
    while (pending.length > 0) {
      const next = pending[0]!;
      if (group.length > 0 && n + next.points.length > maxBatchPoints) break;
      group.push(next);
      n += next.points.length;
      pending.shift();
    }
    pendingPoints -= n;
    return group;
  }

  async function run(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    immediate = null;
    if (writing) return;
    writing = true;
    try {
      while (pending.length > 0) {
        const group = takeGroup();
        inFlight = group;
        const points = group.length === 1 ? group[0]!.points : group.flatMap((e) => e.points);
        try {
          await store.write(points);
        } catch (err) {
          const error =
            err instanceof DakkioError
              ? err
              : new DakkioError('store_unavailable', 'storing readings failed', { cause: err });
          logger.warn({ err: error, points: points.length }, 'group write failed');
          for (const e of group) e.reject(error);
          continue;
        } finally {
          inFlight = [];
        }
        for (const e of group) e.resolve();
        if (listeners.size > 0) setImmediate(notify, points);
      }
    } finally {
      writing = false;
    }
  }

  function notify(points: readonly ReadingPoint[]): void {
    for (const listener of [...listeners]) {
      try {
        const r = listener(points) as unknown;
        if (r instanceof Promise) r.catch((err) => logger.error({ err }, 'onCommitted listener failed'));
      } catch (err) {
        logger.error({ err }, 'onCommitted listener failed');
      }
    }
  }

  async function flush(): Promise<void> {
    // settled (not resolved) promises made here, not per submit: flush is rare, submits are not
    const waiting = [...inFlight, ...pending].map((e) => e.promise.then(ignore, ignore));
    if (pending.length > 0) schedule(true);
    await Promise.all(waiting);
  }

  return {
    submit(points) {
      if (closed) return Promise.reject(new DakkioError('store_unavailable', 'ingest pipeline is closed'));
      if (points.length === 0) return Promise.resolve();
      if (pendingPoints > 0 && pendingPoints + points.length > maxPendingPoints) {
        return Promise.reject(
          new DakkioError('rate_limited', 'too many readings waiting to be stored', { retryAfterSeconds: 1 }),
        );
      }
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      const entry: Entry = { points, resolve, reject, promise };
      pending.push(entry);
      pendingPoints += points.length;
      schedule(pendingPoints >= minBatchPoints);
      return promise;
    },

    onCommitted(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    flush,

    close() {
      if (!closing) {
        closed = true;
        // Listeners stay: commits flushed here still notify them on the next turn.
        closing = flush();
      }
      return closing;
    },
  };
}
