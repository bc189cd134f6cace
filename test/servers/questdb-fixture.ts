/**
 * A QuestDB reading store on a fresh table of the shared test server, with its own
 * spool file; cleanup() closes it, drops the table and removes the spool.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { systemClock } from '../../core/clock.ts';
import { silentLogger } from '../../core/logger.ts';
import {
  createQuestDbReadingStore,
  type QuestDbReadingStore,
  type QuestDbReadingStoreOptions,
} from '../../core/store/questdb-readings-store.ts';

export interface QuestDbStoreFixture {
  store: QuestDbReadingStore;
  table: string;
  spoolPath: string;
  cleanup(): Promise<void>;
}

export const freshTableName = () => `readings_t${randomBytes(6).toString('hex')}`;

export async function dropTable(pgUrl: string, table: string): Promise<void> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS ${table}`);
  } finally {
    await client.end();
  }
}

export async function makeQuestDbStore(
  server: { httpUrl: string; pgUrl: string },
  extra: Partial<QuestDbReadingStoreOptions> = {},
): Promise<QuestDbStoreFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'dakkio-qdb-spool-'));
  const table = extra.table ?? freshTableName();
  const spoolPath = extra.spoolPath ?? join(dir, 'spool.db');
  const store = await createQuestDbReadingStore({
    httpUrl: server.httpUrl,
    pgUrl: server.pgUrl,
    logger: silentLogger,
    clock: systemClock,
    spoolPath,
    ...extra,
    table,
  });
  return {
    store,
    table,
    spoolPath,
    async cleanup() {
      await store.close();
      await dropTable(server.pgUrl, table).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
