/**
 * The SQLite store's side of the quiet-time release (ReadingStore.releaseMemory and workerHeaps,
 * called by cli/young-generation-release.ts once the process has gone quiet): what it hands back, and
 * its worker threads' heap figures for the release's log line.
 */
import type Database from 'better-sqlite3';
import type { ReadingStore } from '../ports/reading-store.ts';
import type { Checkpointer } from './sqlite-checkpointer.ts';
import type { SqliteStatsReader } from './sqlite-stats-reader.ts';

export function sqliteQuietTime(
  db: Database.Database,
  statsReader: SqliteStatsReader,
  checkpointer: () => Checkpointer | undefined,
  closed: () => boolean,
): Required<Pick<ReadingStore, 'releaseMemory' | 'workerHeaps'>> {
  return {
    // The writer's page cache (up to 32 MiB) is freed; merges re-read from the OS cache. The workers'
    // isolates run a full GC of their own: an idle isolate runs none (worker-heap.ts).
    releaseMemory() {
      if (closed()) return;
      db.pragma('shrink_memory');
      statsReader.releaseMemory();
      checkpointer()?.releaseMemory();
    },
    async workerHeaps(timeoutMs) {
      const [stats, checkpoints] = await Promise.all([statsReader.heap(timeoutMs), checkpointer()?.heap(timeoutMs)]);
      return { ...(stats ? { statsReader: stats } : {}), ...(checkpoints ? { checkpointer: checkpoints } : {}) };
    },
  };
}
