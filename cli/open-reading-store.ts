import { join } from 'node:path';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { ReadingStore } from '../core/ports/reading-store.ts';
import { createQuestDbReadingStore } from '../core/store/questdb-readings-store.ts';
import { createSqliteReadingStore } from '../core/store/sqlite-readings-store.ts';
import type { Config } from './config.ts';

/** DAKKIO_STORE picks the readings store: embedded SQLite, or a QuestDB server with a local spool for outages. */
export function openReadingStore(config: Config, dataDir: string, clock: Clock, logger: Logger): Promise<ReadingStore> {
  if (config.store === 'questdb') {
    return createQuestDbReadingStore({
      httpUrl: config.questdbUrl!,
      ...(config.questdbPgUrl ? { pgUrl: config.questdbPgUrl } : {}),
      logger: logger.child({ component: 'questdb' }),
      clock,
      spoolPath: join(dataDir, 'questdb-spool.db'),
      spoolMaxPoints: config.questdbSpoolMaxPoints,
    });
  }
  return createSqliteReadingStore({
    path: join(dataDir, 'readings.db'),
    logger: logger.child({ component: 'readings' }),
    clock,
    synchronous: config.sqliteSynchronous,
  });
}
