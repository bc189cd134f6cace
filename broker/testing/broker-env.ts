/**
 * Test helper: a real dakkio core over SQLite in a data dir (metadata, readings,
 * API keys, resource directory, ingest pipeline) and a real broker on port 0 —
 * what the broker tests and the SIGKILL child process share. Not imported by
 * library code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiKeyService, type CreateApiKeyFields } from '../../core/auth/api-key-service.ts';
import { createBucketService } from '../../core/buckets/bucket-service.ts';
import { type Clock, systemClock } from '../../core/clock.ts';
import { createDataSourceService } from '../../core/data-sources/data-source-service.ts';
import { createLocalEventBus } from '../../core/event-bus-local.ts';
import { createIdGenerator } from '../../core/ids.ts';
import { createIngestPipeline } from '../../core/ingest/ingest-pipeline.ts';
import { createIngestService } from '../../core/ingest/ingest-service.ts';
import { parseMqttDataPayload, parseMqttMetricPayload } from '../../core/ingest/reading-input.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import type { ReadingPoint } from '../../core/readings.ts';
import { createResourceDirectory } from '../../core/resource-directory.ts';
import { createSqliteMetadataDb } from '../../core/store/metadata/sqlite-metadata-db.ts';
import { createSqliteReadingStore } from '../../core/store/sqlite-readings-store.ts';
import { createBroker } from '../create-broker.ts';
import { defaultBrokerOptions, type Broker, type BrokerDeps, type BrokerOptions } from '../types.ts';

export interface CoreEnvOptions {
  /** reuse a data dir (the SIGKILL test); default: a fresh temp dir, removed on close */
  dir?: string;
  clock?: Clock;
  logger?: Logger;
}

export async function createCoreEnv(opts: CoreEnvOptions = {}) {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'dakkio-broker-'));
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? silentLogger;
  const ids = createIdGenerator(() => clock.now());
  const db = await createSqliteMetadataDb(join(dir, 'metadata.db'));
  const readingStore = await createSqliteReadingStore({ path: join(dir, 'readings.db'), logger, clock });
  const events = createLocalEventBus(logger);
  const keys = createApiKeyService({ db, clock, ids, events, logger });
  const directory = createResourceDirectory({ db, events, clock, logger });
  const pipeline = createIngestPipeline({ store: readingStore, logger });
  const buckets = createBucketService({ db, clock, ids, events, readingStore });
  const sources = createDataSourceService({ db, clock, ids, events, readingStore });
  const ingest = createIngestService({ pipeline, directory, clock });

  const deps: BrokerDeps = {
    verifyApiKey: (secret) => keys.verify(secret),
    ingest,
    parseDataPayload: parseMqttDataPayload,
    parseMetricPayload: parseMqttMetricPayload,
    directory,
    events,
    onCommitted: (listener) => pipeline.onCommitted(listener),
    logger,
    clock,
  };

  async function createUser(email: string): Promise<string> {
    const id = ids();
    await db
      .insertInto('users')
      .values({ id, email, name: null, password_hash: 'x', created_at: clock.now(), sessions_valid_after: 0 })
      .execute();
    return id;
  }

  /** A user with a bucket, one data source and a read+write key. */
  async function createTenant(email: string, keyFields: Partial<CreateApiKeyFields> = {}) {
    const ownerId = await createUser(email);
    const bucket = await buckets.create(ownerId, { name: 'b' });
    const source = await sources.create(ownerId, bucket.id, { name: 's' });
    const { key, secret } = await keys.create(ownerId, { name: 'k', permissions: ['read', 'write'], ...keyFields });
    return { ownerId, bucketId: bucket.id, dataSourceId: source.id, keyId: key.id, secret };
  }

  /** Every stored point of the bucket, oldest first per series. */
  async function readAll(bucketId: string): Promise<ReadingPoint[]> {
    const series = await readingStore.queryRaw({ bucketId, from: 0, to: 8.64e15, limitPerSeries: 1_000_000 });
    return series.flatMap((s) =>
      s.points.map(([ts, value]) => ({ bucketId, dataSourceId: s.dataSourceId, metric: s.metric, ts, value })),
    );
  }

  return {
    dir,
    clock,
    ids,
    db,
    readingStore,
    events,
    keys,
    directory,
    pipeline,
    buckets,
    sources,
    deps,
    createUser,
    createTenant,
    readAll,
    async close() {
      await pipeline.close();
      await directory.close();
      await keys.close();
      await events.close();
      await readingStore.close();
      await db.destroy();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type CoreEnv = Awaited<ReturnType<typeof createCoreEnv>>;

export const testBrokerOptions = (overrides: Partial<BrokerOptions> = {}): BrokerOptions => ({
  ...defaultBrokerOptions,
  host: '127.0.0.1',
  mqttPort: 0,
  wsPort: 0,
  ...overrides,
});

/** Core + broker on port 0; close() stops the broker first, then core (DESIGN.md shutdown order). */
export async function createBrokerEnv(overrides: Partial<BrokerOptions> = {}, opts: CoreEnvOptions = {}) {
  const core = await createCoreEnv(opts);
  let broker: Broker;
  try {
    broker = await createBroker(core.deps, testBrokerOptions(overrides));
  } catch (err) {
    await core.close();
    throw err;
  }
  return {
    ...core,
    core,
    broker,
    mqttUrl: `mqtt://127.0.0.1:${broker.ports.mqtt}`,
    wsUrl: `ws://127.0.0.1:${broker.ports.mqttWs}/mqtt`,
    async close() {
      await broker.close();
      await core.close();
    },
  };
}

export type BrokerEnv = Awaited<ReturnType<typeof createBrokerEnv>>;
