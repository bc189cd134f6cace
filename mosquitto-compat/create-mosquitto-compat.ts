/**
 * One factory for the composition root: every mosquitto-compat service, wired
 * together (upstream config changes reload the upstream manager), with one close().
 * The broker uses `credentials.authenticate` at CONNECT and `aclFor` for each
 * publish / delivery of a Mosquitto-style credential (or an API key with rules).
 */
import type { TopicRule } from '../core/auth/principal.ts';
import type { Clock } from '../core/clock.ts';
import type { DataSourceService } from '../core/data-sources/data-source-service.ts';
import type { IdGenerator } from '../core/ids.ts';
import { type Logger, silentLogger } from '../core/logger.ts';
import type { EventBus } from '../core/ports/event-bus.ts';
import type { ReadingPoint } from '../core/readings.ts';
import type { MetadataDb } from '../core/store/metadata/sqlite-metadata-db.ts';
import { canPublish, canRead, canSubscribe } from './acl-evaluate.ts';
import type { CredentialVerifierOptions } from './credential-verifier.ts';
import { createMosquittoImporter, type MosquittoImporter } from './mosquitto-import.ts';
import { createMqttCredentialService, type MqttCredentialService } from './mqtt-credential-service.ts';
import { createTopicMappingService, type TopicMappingService } from './topic-mapping-service.ts';
import { createUpstreamManager, type UpstreamManager, type UpstreamManagerOptions } from './upstream-manager.ts';
import { createUpstreamService, type UpstreamService } from './upstream-service.ts';

export interface MosquittoCompatOptions {
  db: MetadataDb;
  clock: Clock;
  ids: IdGenerator;
  events: EventBus;
  logger?: Logger;
  dataSources: Pick<DataSourceService, 'create'>;
  /** durable write of mapped readings (IngestPipeline.submit) */
  submit: (points: readonly ReadingPoint[]) => Promise<void>;
  /** how plain passwords given to the credential API are hashed (default scrypt, core/auth/passwords.ts) */
  hashPassword?: (password: string) => Promise<string>;
  credentialCache?: CredentialVerifierOptions;
  upstream?: Pick<UpstreamManagerOptions, 'backoff' | 'onMessage'> & {
    /** false: don't connect upstreams from this node (clustered: only one node may) */
    enabled?: boolean;
  };
}

export interface TopicAcl {
  canPublish(topic: string): boolean;
  /** call per delivered message: Mosquitto filters on delivery */
  canRead(topic: string): boolean;
  canSubscribe(filter: string): boolean;
}

export interface MosquittoCompat {
  credentials: MqttCredentialService;
  importer: MosquittoImporter;
  mappings: TopicMappingService;
  upstreams: UpstreamService;
  upstreamManager: UpstreamManager;
  /**
   * Receive time for a legacy message (epoch ms), strictly increasing: mapped
   * payloads without a timestamp use it, and a burst within one millisecond (a
   * bridge or upstream flushing its queue) must stay distinct readings instead of
   * overwriting each other on the same (bucket, source, metric, timestamp).
   */
  receiveTime(): number;
  /** Mosquitto-semantics checks for one connected client */
  aclFor(principal: { rules: readonly TopicRule[] | null }, client: { username: string | null; clientId: string }): TopicAcl;
  /** connects the enabled upstreams */
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createMosquittoCompat(opts: MosquittoCompatOptions): MosquittoCompat {
  const { db, clock, ids, events } = opts;
  const logger = opts.logger ?? silentLogger;
  const upstreamsEnabled = opts.upstream?.enabled ?? true;
  let lastReceived = 0;
  const receiveTime = () => {
    lastReceived = Math.max(clock.now(), lastReceived + 1);
    return lastReceived;
  };
  const credentials = createMqttCredentialService({
    db,
    clock,
    ids,
    events,
    logger: logger.child({ component: 'mqtt-credentials' }),
    ...(opts.hashPassword ? { hashPassword: opts.hashPassword } : {}),
    ...(opts.credentialCache ? { cache: opts.credentialCache } : {}),
  });
  const importer = createMosquittoImporter({ db, clock, ids, events });
  const mappings = createTopicMappingService({ db, clock, ids, events, dataSources: opts.dataSources });
  const upstreamManager = createUpstreamManager({
    db,
    mappings,
    submit: opts.submit,
    now: receiveTime,
    logger,
    ...(opts.upstream?.backoff ? { backoff: opts.upstream.backoff } : {}),
    ...(opts.upstream?.onMessage ? { onMessage: opts.upstream.onMessage } : {}),
  });
  const upstreams = createUpstreamService({
    db,
    clock,
    ids,
    onChange: (id) => (upstreamsEnabled ? upstreamManager.reload(id) : undefined),
  });
  let closed: Promise<void> | null = null;

  return {
    credentials,
    importer,
    mappings,
    upstreams,
    upstreamManager,
    receiveTime,
    aclFor(principal, client) {
      const rules = principal.rules ?? [];
      return {
        canPublish: (topic) => canPublish(rules, client, topic),
        canRead: (topic) => canRead(rules, client, topic),
        canSubscribe: (filter) => canSubscribe(rules, client, filter),
      };
    },
    async start() {
      if (upstreamsEnabled) await upstreamManager.start();
    },
    close() {
      closed ??= (async () => {
        await upstreamManager.close();
        await mappings.close();
        await credentials.close();
      })();
      return closed;
    },
  };
}
