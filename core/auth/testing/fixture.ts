import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KyselyPlugin } from 'kysely';
import { createManualClock } from '../../clock.ts';
import { createLocalEventBus } from '../../event-bus-local.ts';
import { createIdGenerator } from '../../ids.ts';
import { silentLogger } from '../../logger.ts';
import type { DakkioEvent } from '../../ports/event-bus.ts';
import type { ReadingStore } from '../../ports/reading-store.ts';
import { createSqliteReadingStore } from '../../store/sqlite-readings-store.ts';
import { createSqliteMetadataDb, type MetadataDb } from '../../store/metadata/sqlite-metadata-db.ts';

/**
 * A real metadata database and a real readings store in a temp dir, a manual
 * clock, a local event bus that also records what was published, and a counting
 * view of the database (to prove that something did *not* query it).
 */
export async function createTestEnv() {
  const dir = mkdtempSync(join(tmpdir(), 'dakkio-core-'));
  const clock = createManualClock();
  const ids = createIdGenerator(() => clock.now());
  const rawDb = await createSqliteMetadataDb(join(dir, 'metadata.db'));
  const readingStore: ReadingStore = await createSqliteReadingStore({
    path: join(dir, 'readings.db'),
    logger: silentLogger,
    clock,
  });
  const events = createLocalEventBus();
  const published: DakkioEvent[] = [];
  const originalPublish = events.publish.bind(events);
  events.publish = async (e) => {
    published.push(e);
    await originalPublish(e);
  };
  const queries = { count: 0, byKind: new Map<string, number>() };
  const counter: KyselyPlugin = {
    transformQuery(args) {
      queries.count++;
      queries.byKind.set(args.node.kind, (queries.byKind.get(args.node.kind) ?? 0) + 1);
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  const db: MetadataDb = rawDb.withPlugin(counter);
  return {
    dir,
    clock,
    ids,
    db,
    readingStore,
    events,
    published,
    queries,
    resetQueryCount() {
      queries.count = 0;
      queries.byKind.clear();
    },
    async close() {
      await events.close();
      await readingStore.close();
      await rawDb.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type TestEnv = Awaited<ReturnType<typeof createTestEnv>>;
