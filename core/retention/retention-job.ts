/**
 * Retention: every `intervalMs`, drops the readings older than each bucket's
 * retentionDays. The first run happens one interval after creation (call
 * runOnce() at start-up to run sooner). One bucket failing does not stop the rest.
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { ReadingStore } from '../ports/reading-store.ts';

const DAY_MS = 86_400_000;

export interface RetentionJob {
  /** One pass over every bucket with a retention; concurrent calls share the running pass. */
  runOnce(): Promise<{ buckets: number; failed: number }>;
  /** Stops the timer and waits for a running pass. Idempotent. */
  close(): Promise<void>;
}

export function createRetentionJob(deps: {
  store: Pick<ReadingStore, 'deleteBefore'>;
  listBucketsWithRetention: () => Promise<{ id: string; retentionDays: number }[]>;
  clock: Clock;
  logger: Logger;
  intervalMs: number;
}): RetentionJob {
  const logger = deps.logger.child({ component: 'retention' });
  let running: Promise<{ buckets: number; failed: number }> | null = null;
  let closed = false;

  async function pass(): Promise<{ buckets: number; failed: number }> {
    const buckets = (await deps.listBucketsWithRetention()).filter((b) => b.retentionDays > 0);
    const now = deps.clock.now();
    let failed = 0;
    for (const b of buckets) {
      if (closed) break;
      try {
        await deps.store.deleteBefore(b.id, now - b.retentionDays * DAY_MS);
      } catch (err) {
        failed++;
        logger.error({ err, bucketId: b.id }, 'retention failed for bucket');
      }
    }
    logger.debug({ buckets: buckets.length, failed }, 'retention pass done');
    return { buckets: buckets.length, failed };
  }

  function runOnce(): Promise<{ buckets: number; failed: number }> {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  }

  const timer = setInterval(() => {
    runOnce().catch((err) => logger.error({ err }, 'retention pass failed'));
  }, deps.intervalMs);
  timer.unref();

  return {
    runOnce,
    async close() {
      closed = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
