/**
 * The ReadingStore contract on the SQLite store, under four merge regimes, so reads and writes
 * meet every state of its two parts (staging, the generation being merged, the indexed table).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../logger.ts';
import { describeReadingStoreContract } from './reading-store.contract.ts';
import { createSqliteReadingStore, type SqliteReadingStoreOptions } from './sqlite-readings-store.ts';

function storeIn(options: Partial<SqliteReadingStoreOptions>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dakkio-readings-'));
    const store = await createSqliteReadingStore({ path: join(dir, 'readings.db'), logger: silentLogger, ...options });
    return {
      store,
      async cleanup() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
}

describeReadingStoreContract('sqlite', storeIn({}));

// A tiny merge threshold, so reads and writes cross merges constantly.
describeReadingStoreContract('sqlite (merge every 3 rows)', storeIn({ mergeThresholdRows: 3 }));

// Tiny threshold and one series per merge slice: reads and writes land between slices,
// with part of a generation in `readings` and the rest still staged.
describeReadingStoreContract('sqlite (merge every 3 rows, one series per slice)', storeIn({ mergeThresholdRows: 3, mergeSliceRows: 1 }));

// Huge threshold: reads always cross staging and the indexed table.
describeReadingStoreContract(
  'sqlite (never merges on its own)',
  storeIn({ mergeThresholdRows: Number.MAX_SAFE_INTEGER, mergeDelayMs: 3_600_000 }),
);
