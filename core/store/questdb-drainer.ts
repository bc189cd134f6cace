/**
 * Replays the local spool into QuestDB in arrival order, one batch per ILP request,
 * removing a batch only after QuestDB accepted it (a crash between the two replays
 * it again, which DEDUP makes harmless). Runs in the store's write lock so replayed
 * and live writes never interleave.
 */
import type { Logger } from '../logger.ts';
import type { ReadingPoint } from '../readings.ts';
import { decodeValue } from './questdb-schema.ts';
import type { QuestDbSpool, SpooledPoint } from './questdb-spool.ts';
import { isUnreachable, type QuestDbWriter } from './questdb-writer.ts';

export interface SpoolDrainer {
  /** Starts a drain after delayMs unless one is pending or running. */
  schedule(delayMs: number): void;
  /** Stops scheduling and waits for a running batch. Idempotent. */
  close(): Promise<void>;
}

export interface SpoolDrainerDeps {
  spool: QuestDbSpool;
  writer: QuestDbWriter;
  logger: Logger;
  batchSize: number;
  retryMs: number;
  serialized: <T>(fn: () => Promise<T>) => Promise<T>;
  ensureSchema: () => Promise<void>;
  /** A batch landed in QuestDB. */
  onReplayed: () => void;
  /** QuestDB answered (true) or could not be reached (false, with the error). */
  onReachability: (up: boolean, error?: unknown) => void;
}

const toReadingPoint = (p: SpooledPoint): ReadingPoint => ({
  bucketId: p.bucketId,
  dataSourceId: p.dataSourceId,
  metric: p.metric,
  ts: p.ts,
  value: decodeValue(p.kind, p.num, p.str),
});

export function createSpoolDrainer(deps: SpoolDrainerDeps): SpoolDrainer {
  const { spool, writer, logger } = deps;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;

  const drain = async (): Promise<void> => {
    if (spool.depth() > 0) logger.info({ spoolDepth: spool.depth() }, 'replaying spool into questdb');
    while (!closed && spool.depth() > 0) {
      const more = await deps.serialized(async () => {
        await deps.ensureSchema();
        const batch = spool.peek(deps.batchSize);
        const last = batch[batch.length - 1];
        if (!last) return false;
        await writer.send(batch.map(toReadingPoint));
        spool.removeThrough(last.id);
        deps.onReplayed();
        return spool.depth() > 0;
      });
      deps.onReachability(true);
      if (!more) break;
    }
    if (!closed && spool.depth() === 0) logger.info({}, 'questdb spool drained');
  };

  const schedule = (delayMs: number) => {
    if (closed || timer || running) return;
    timer = setTimeout(() => {
      timer = undefined;
      running = drain()
        .catch((e) => {
          if (isUnreachable(e)) deps.onReachability(false, e);
          // QuestDB is up but refuses the spooled rows: keep them (acknowledged data is
          // never dropped) and say so loudly; someone has to look at the table.
          else logger.error({ err: (e as Error).message, spoolDepth: spool.depth() }, 'questdb refused spooled readings; will retry');
        })
        .finally(() => {
          running = undefined;
          if (!closed && spool.depth() > 0) schedule(deps.retryMs);
        });
    }, delayMs);
    timer.unref?.();
  };

  return {
    schedule,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
