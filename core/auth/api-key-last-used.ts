import type { Logger } from '../logger.ts';
import type { MetadataDb } from '../store/metadata/sqlite-metadata-db.ts';

/**
 * lastUsedAt bookkeeping off the verification hot path: verify() only notes the
 * time in memory; a timer writes every key's newest time in one transaction per
 * interval, so each key costs at most one write per interval however busy it is.
 */
export interface LastUsedRecorder {
  record(keyId: string, at: number): void;
  /** the newest known time: buffered or stored */
  latest(keyId: string, stored: number | null): number | null;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createLastUsedRecorder(opts: { db: MetadataDb; flushMs: number; logger?: Logger | undefined }): LastUsedRecorder {
  const { db } = opts;
  let pending = new Map<string, number>();
  let flushing: Promise<void> = Promise.resolve();
  let closed = false;

  async function writeOut(): Promise<void> {
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    try {
      await db.transaction().execute(async (trx) => {
        for (const [id, at] of batch) {
          await trx
            .updateTable('api_keys')
            .set({ last_used_at: at })
            .where('id', '=', id)
            .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
            .execute();
        }
      });
    } catch (err) {
      // Keep the newest times for the next attempt; losing a lastUsedAt is harmless, losing the process is not.
      for (const [id, at] of batch) if ((pending.get(id) ?? 0) < at) pending.set(id, at);
      opts.logger?.warn({ err }, 'could not store API key lastUsedAt');
    }
  }

  function flush(): Promise<void> {
    flushing = flushing.then(writeOut);
    return flushing;
  }

  const timer = setInterval(() => void flush(), opts.flushMs);
  timer.unref();

  return {
    record(keyId, at) {
      if (closed) return;
      if ((pending.get(keyId) ?? 0) < at) pending.set(keyId, at);
    },
    latest(keyId, stored) {
      const p = pending.get(keyId);
      if (p === undefined) return stored === null ? null : Number(stored);
      return stored === null ? p : Math.max(p, Number(stored));
    },
    flush,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await flush();
    },
  };
}
