import { sql } from 'kysely';
import type { Logger } from '../logger.ts';
import type { MetadataDb } from '../store/metadata/sqlite-metadata-db.ts';

/**
 * Keys per UPDATE statement. One kysely-built UPDATE per key held the event loop for
 * 35–170 ms per flush of 2,000 keys (one key per device is common); one statement per
 * 500 keys, each in its own short transaction with a turn of the event loop between,
 * keeps every hold to a few ms (bench figures in the commit that made it so).
 */
const KEYS_PER_STATEMENT = 500;

/**
 * lastUsedAt bookkeeping off the verification hot path: verify() only notes the
 * time in memory; a timer writes every key's newest time once per interval (a few
 * statements of many keys each), so each key costs at most one write per interval
 * however busy it is.
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
    const batch = [...pending];
    pending = new Map();
    for (let i = 0; i < batch.length; i += KEYS_PER_STATEMENT) {
      const chunk = batch.slice(i, i + KEYS_PER_STATEMENT);
      try {
        // json_each turns the chunk into rows; a stored time is only ever moved forward
        await sql`UPDATE api_keys SET last_used_at = j.value ->> 1
          FROM json_each(${JSON.stringify(chunk)}) AS j
          WHERE api_keys.id = j.value ->> 0
            AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < j.value ->> 1)`.execute(db);
      } catch (err) {
        // Keep the newest times for the next attempt; losing a lastUsedAt is harmless, losing the process is not.
        for (const [id, at] of chunk) if ((pending.get(id) ?? 0) < at) pending.set(id, at);
        opts.logger?.warn({ err }, 'could not store API key lastUsedAt');
      }
      if (i + KEYS_PER_STATEMENT < batch.length) await new Promise<void>((resolve) => setImmediate(resolve));
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
