/**
 * mosquitto-compat in the running dakkio: builds the compat services and turns
 * them into what the composition root needs — the broker hooks (legacy
 * username/password, Mosquitto-style rules for topics outside dakkio/, topic
 * mappings on the ingest path), the HTTP route group, and start/close for the
 * upstream connections (started after the broker, closed before the pipeline).
 */
import { type DevicePrincipal, keyAllows, type TopicRule } from '../core/auth/principal.ts';
import { hashPassword, type ScryptParams } from '../core/auth/passwords.ts';
import type { Clock } from '../core/clock.ts';
import type { DataSourceService } from '../core/data-sources/data-source-service.ts';
import type { IdGenerator } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import type { EventBus } from '../core/ports/event-bus.ts';
import type { ReadingPoint } from '../core/readings.ts';
import type { MetadataDb } from '../core/store/metadata/sqlite-metadata-db.ts';
import type { BrokerDeps } from '../broker/types.ts';
import { mqttCompatRoutes } from '../http/routes/mqtt-compat-routes.ts';
import { canPublish, canRead, canSubscribe } from '../mosquitto-compat/acl-evaluate.ts';
import { isBridgeStateNotification } from '../mosquitto-compat/bridge-notifications.ts';
import { createMosquittoCompat, type MosquittoCompat } from '../mosquitto-compat/create-mosquitto-compat.ts';

export interface WireMosquittoCompatOptions {
  db: MetadataDb;
  clock: Clock;
  ids: IdGenerator;
  events: EventBus;
  logger: Logger;
  dataSources: Pick<DataSourceService, 'create'>;
  /** IngestPipeline.submit: resolves once the points are durable */
  submit: (points: readonly ReadingPoint[]) => Promise<void>;
  /** lower scrypt cost for passwords given to the credential API (tests only) */
  passwordParams?: ScryptParams;
  /** reconnect backoff of upstream connections (tests shorten it) */
  upstreamBackoff?: { initialMs?: number; maxMs?: number };
}

export interface WiredMosquittoCompat {
  compat: MosquittoCompat;
  /** spread into BrokerDeps */
  brokerHooks: Required<Pick<BrokerDeps, 'authenticateOther' | 'otherTopics'>>;
  /** pass to createHttpApp's route groups */
  routes: ReturnType<typeof mqttCompatRoutes>;
  /** connects the enabled upstreams; call once the broker is up */
  start(): Promise<void>;
  /** stops the upstreams (before the pipeline flushes) and the services */
  close(): Promise<void>;
}

/** The rules a principal brings for topics outside dakkio/ (null: none, so nothing is allowed there). */
function rulesOf(principal: DevicePrincipal | null): readonly TopicRule[] | null {
  if (!principal) return null;
  return principal.rules;
}

/** %u has nothing to stand for with an API key (the MQTT username is free text there) */
const whoOf = (principal: DevicePrincipal, clientId: string) => ({
  username: principal.kind === 'mqtt-credential' ? principal.username : null,
  clientId,
});

/**
 * `$SYS/` drives Aedes itself (e.g. `$SYS/<id>/new/clients` closes clients) and
 * `$dakkio/` is the broker's own: no rule may grant a publish there, except a
 * bridge's own connection-state notification.
 */
const isReservedForPublish = (topic: string) => topic.startsWith('$SYS/') || topic.startsWith('$dakkio/');

export function wireMosquittoCompat(opts: WireMosquittoCompatOptions): WiredMosquittoCompat {
  const { logger, passwordParams } = opts;
  const compat = createMosquittoCompat({
    db: opts.db,
    clock: opts.clock,
    ids: opts.ids,
    events: opts.events,
    logger,
    dataSources: opts.dataSources,
    submit: opts.submit,
    ...(passwordParams ? { hashPassword: (pw: string) => hashPassword(pw, passwordParams) } : {}),
    ...(opts.upstreamBackoff ? { upstream: { backoff: opts.upstreamBackoff } } : {}),
  });

  const brokerHooks: WiredMosquittoCompat['brokerHooks'] = {
    async authenticateOther(username, password, clientId) {
      // Mosquitto's password_file needs a username; there is nothing to look up without one
      if (username === undefined || username === '') return null;
      return compat.credentials.authenticate(username, password, clientId);
    },
    otherTopics: {
      async canPublish(principal, clientId, topic) {
        if (!principal) return false;
        // a Mosquitto bridge announces itself here right after CONNACK (and in its will)
        if (isBridgeStateNotification(clientId, topic)) return true;
        const rules = rulesOf(principal);
        if (!rules || isReservedForPublish(topic)) return false;
        return canPublish(rules, whoOf(principal, clientId), topic);
      },
      async canSubscribe(principal, clientId, filter) {
        const rules = rulesOf(principal);
        if (!principal || !rules) return false;
        // Mosquitto 2.0 grants every valid filter and filters on delivery; devices moved from it
        // expect that. API keys keep dakkio's SUBACK 0x80 for what their rules can't read, checked
        // as Mosquitto 1.x did (the filter read as a topic); delivery is filtered per message anyway.
        if (principal.kind === 'api-key') return canRead(rules, whoOf(principal, clientId), filter);
        return canSubscribe(rules, whoOf(principal, clientId), filter);
      },
      canRead(principal, clientId, topic) {
        const rules = rulesOf(principal);
        if (!principal || !rules) return false;
        return canRead(rules, whoOf(principal, clientId), topic);
      },
      // the broker's receive time is replaced by compat.receiveTime(): strictly increasing, so bursts stay distinct
      async ingest(principal, topic, payload) {
        const mapping = await compat.mappings.resolve(principal.ownerId, topic);
        if (!mapping) return 0;
        // a key limited to other buckets (or read-only) does not write through a mapping either
        if (principal.kind === 'api-key' && !keyAllows(principal, mapping.bucketId, 'write')) return 0;
        const points = compat.mappings.toPoints(mapping, payload, compat.receiveTime());
        if (points.length === 0) return 0;
        await opts.submit(points);
        return points.length;
      },
    },
  };

  return {
    compat,
    brokerHooks,
    routes: mqttCompatRoutes({ compat }),
    start: () => compat.start(),
    close: () => compat.close(),
  };
}
