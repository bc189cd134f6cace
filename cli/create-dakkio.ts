/**
 * The composition root (DESIGN.md): the only place that knows every part. Builds
 * the stores, core services, broker and HTTP server from a Config, and stops them
 * in the safe order: listeners first, then the ingest pipeline is flushed, then
 * background workers, then the stores. Nothing acknowledged is lost on a clean stop.
 */
import { join } from 'node:path';
import { createIngestRateMeter } from '../core/analytics/ingest-rate-meter.ts';
import { createApiKeyService } from '../core/auth/api-key-service.ts';
import type { ScryptParams } from '../core/auth/passwords.ts';
import { createTokenService } from '../core/auth/token-service.ts';
import { createUserService } from '../core/auth/user-service.ts';
import { createBucketService } from '../core/buckets/bucket-service.ts';
import { type Clock, systemClock } from '../core/clock.ts';
import { createDataSourceService } from '../core/data-sources/data-source-service.ts';
import { createLocalEventBus } from '../core/event-bus-local.ts';
import { createIdGenerator } from '../core/ids.ts';
import { createIngestPipeline } from '../core/ingest/ingest-pipeline.ts';
import { createIngestService } from '../core/ingest/ingest-service.ts';
import { parseMqttDataPayload, parseMqttMetricPayload } from '../core/ingest/reading-input.ts';
import type { Logger } from '../core/logger.ts';
import { createQueryService } from '../core/query/query-service.ts';
import { createResourceDirectory } from '../core/resource-directory.ts';
import { createRetentionJob } from '../core/retention/retention-job.ts';
import { createSqliteMetadataDb } from '../core/store/metadata/sqlite-metadata-db.ts';
import { createHttpApp } from '../http/create-http-app.ts';
import { startHttpServer } from '../http/http-server.ts';
import { metricsRoutes } from '../http/routes/metrics-routes.ts';
import type { Config } from './config.ts';
import { prepareDataDir } from './data-dir.ts';
import { loadOrCreateJwtSecret } from './jwt-secret.ts';
import { openReadingStore } from './open-reading-store.ts';
import { createShutdownStack } from './shutdown-stack.ts';
import { startBroker } from './start-broker.ts';
import { wireAlerts } from './wire-alerts.ts';
import { wireMosquittoCompat } from './wire-mosquitto-compat.ts';
import { startYoungGenerationRelease } from './young-generation-release.ts';

export interface DakkioOverrides {
  clock?: Clock;
  /** lower scrypt cost, for tests only */
  passwordParams?: ScryptParams;
  /** upstream broker reconnect backoff, for tests only */
  upstreamBackoff?: { initialMs?: number; maxMs?: number };
}

export interface Dakkio {
  ports: {
    http: number;
    mqtt: number;
    mqttWs: number;
    mqtts?: number;
    wss?: number;
  };
  /** Idempotent graceful stop. */
  close(): Promise<void>;
}

export async function createDakkio(
  config: Config,
  rootLogger: Logger,
  overrides: DakkioOverrides = {},
): Promise<Dakkio> {
  const clock = overrides.clock ?? systemClock;
  const ids = createIdGenerator(() => clock.now());
  const dataDir = prepareDataDir(config.dataDir);
  const closers = createShutdownStack(rootLogger);
  const closeAll = () => closers.closeAll();

  try {
    const events = createLocalEventBus(rootLogger.child({ component: 'events' }));
    closers.push({ name: 'events', close: () => events.close() });
    const db = await createSqliteMetadataDb(join(dataDir, 'dakkio.db'), { synchronous: config.sqliteSynchronous });
    closers.push({ name: 'metadata-db', close: () => db.destroy() });

    const readingStore = await openReadingStore(config, dataDir, clock, rootLogger);
    closers.push({ name: 'reading-store', close: () => readingStore.close() });

    const secret = config.jwtSecret ? new TextEncoder().encode(config.jwtSecret) : await loadOrCreateJwtSecret(dataDir);
    const tokens = createTokenService({ secret, clock, ids, db });
    const users = createUserService({
      db,
      clock,
      ids,
      tokens,
      events,
      readingStore,
      ...(overrides.passwordParams ? { passwordParams: overrides.passwordParams } : {}),
    });
    const apiKeys = createApiKeyService({
      db,
      clock,
      ids,
      events,
      logger: rootLogger.child({ component: 'api-keys' }),
    });
    closers.push({ name: 'api-keys', close: () => apiKeys.close() });
    const buckets = createBucketService({
      db,
      clock,
      ids,
      events,
      readingStore,
    });
    const dataSources = createDataSourceService({
      db,
      clock,
      ids,
      events,
      readingStore,
    });
    const directory = createResourceDirectory({
      db,
      events,
      clock,
      logger: rootLogger.child({ component: 'directory' }),
    });
    closers.push({ name: 'directory', close: () => directory.close() });

    const pipeline = createIngestPipeline({
      store: readingStore,
      logger: rootLogger,
      // Paced traffic brings ~one PUBLISH per socket read: gathering for 2 ms when the store
      // is idle (or until 1,000 points wait) turns ~1,000 tiny transactions a second into
      // a few hundred larger ones (see bench/RESULTS.md "group commit gathering").
      maxDelayMs: 2,
      minBatchPoints: 1000,
    });
    closers.push({ name: 'ingest-pipeline', close: () => pipeline.close() });
    const ingest = createIngestService({ pipeline, directory, clock });
    const query = createQueryService({ store: readingStore, directory, clock });
    const rate = createIngestRateMeter({ clock });
    pipeline.onCommitted((points) => rate.record(points));

    const alerts = wireAlerts({
      db,
      clock,
      ids,
      events,
      logger: rootLogger,
      pipeline,
      allowPrivate: config.webhookAllowPrivate,
      closers,
    });

    const retention = createRetentionJob({
      store: readingStore,
      listBucketsWithRetention: () => buckets.listWithRetention(),
      clock,
      logger: rootLogger.child({ component: 'retention' }),
      intervalMs: 60 * 60 * 1000,
    });
    closers.push({ name: 'retention', close: () => retention.close() });
    // Expired refresh tokens and revoked-jti entries are dead weight once past their expiry.
    const pruneTimer = setInterval(
      () => {
        tokens.pruneExpired().catch((err: unknown) => rootLogger.warn({ err }, 'token prune failed'));
      },
      60 * 60 * 1000,
    );
    pruneTimer.unref();
    closers.push({ name: 'token-prune', close: () => clearInterval(pruneTimer) });

    const mosquitto = wireMosquittoCompat({
      db,
      clock,
      ids,
      events,
      logger: rootLogger.child({ component: 'mosquitto-compat' }),
      dataSources,
      submit: (points) => pipeline.submit(points),
      ...(overrides.passwordParams ? { passwordParams: overrides.passwordParams } : {}),
      ...(overrides.upstreamBackoff ? { upstreamBackoff: overrides.upstreamBackoff } : {}),
    });
    // after the pipeline, so the upstream connections stop (unacknowledged) before it flushes
    closers.push({ name: 'mosquitto-compat', close: () => mosquitto.close() });

    const broker = await startBroker(config, {
      verifyApiKey: (s) => apiKeys.verify(s),
      ingest,
      parseDataPayload: parseMqttDataPayload,
      parseMetricPayload: parseMqttMetricPayload,
      directory,
      events,
      onCommitted: (l) => pipeline.onCommitted(l),
      logger: rootLogger, // the broker names its own component
      clock,
      ...mosquitto.brokerHooks,
    });
    // Listeners close before the pipeline flushes (closers run in reverse).
    closers.push({ name: 'broker', close: () => broker.close() });
    await mosquitto.start();

    let ready = false;
    const app = createHttpApp(
      {
        logger: rootLogger.child({ component: 'http' }),
        clock,
        allowSignup: config.allowSignup,
        publicOrigin: config.publicOrigin,
        corsOrigins: (config.corsOrigins ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        users,
        verifyAccessToken: (t) => tokens.verifyAccessToken(t),
        apiKeys,
        buckets,
        dataSources,
        ingest,
        query,
        readingStats: async (ownerId, bucketId) => {
          await buckets.get(ownerId, bucketId);
          return readingStore.stats(bucketId);
        },
        countReadings: (bucketIds, since) => readingStore.countReadings(bucketIds, since),
        ingestRatePerSecond: (bucketIds) => rate.perSecond(bucketIds),
        mqtt: { connectedClients: (ownerId) => broker.connectedClients(ownerId) },
        health: async () => {
          const store = await readingStore.health().catch(() => ({ ok: false, state: 'down' as const }));
          return {
            ok: ready && store.ok,
            detail: {
              store: store.state,
              ...('detail' in store && store.detail ? { storeDetail: store.detail } : {}),
            },
          };
        },
      },
      [
        ...alerts.routes,
        mosquitto.routes,
        metricsRoutes(config.metricsToken, {
          connectedClients: () => broker.connectedClients(),
          counters: () => broker.counters(),
        }),
      ],
    );
    const http = await startHttpServer(app, {
      host: config.host,
      port: config.httpPort,
      tls: config.tlsCert && config.tlsKey ? { certPath: config.tlsCert, keyPath: config.tlsKey } : undefined,
    });
    closers.push({ name: 'http', close: () => http.close() });
    // hands the grown 64 MiB semi-spaces, a flood's dead old space, the store's page cache and
    // malloc's free pages back once the process goes quiet (see the file's comment)
    const youngGeneration = startYoungGenerationRelease(rootLogger.child({ component: 'young-generation' }), {
      releaseCaches: () => readingStore.releaseMemory?.(),
      workerHeaps: async (timeoutMs) => (await readingStore.workerHeaps?.(timeoutMs)) ?? {},
      quietMs: config.memoryReleaseQuietMs,
    });
    closers.push({ name: 'young-generation-release', close: () => youngGeneration.stop() });
    ready = true;

    const ports = {
      http: http.port,
      mqtt: broker.ports.mqtt,
      mqttWs: broker.ports.mqttWs,
      ...(broker.ports.mqtts !== undefined ? { mqtts: broker.ports.mqtts, wss: broker.ports.wss } : {}),
    };
    rootLogger.info(
      {
        http: ports.http,
        mqtt: ports.mqtt,
        mqttWs: ports.mqttWs,
        ...(ports.mqtts ? { mqtts: ports.mqtts, wss: ports.wss } : {}),
        store: config.store,
        dataDir,
      },
      'listening',
    );

    let closing: Promise<void> | undefined;
    return {
      ports,
      close() {
        ready = false;
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
