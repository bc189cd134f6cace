/**
 * The broker's contract with the composition root: what it needs from core
 * (BrokerDeps), how it is configured (BrokerOptions) and what it offers (Broker).
 * Only core types are referenced, so cli/ can wire real services in and tests can
 * wire the same real services over a temp dir.
 */
import type { ApiKeyPrincipal, DevicePrincipal } from '../core/auth/principal.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { EventBus } from '../core/ports/event-bus.ts';
import type { ResourceDirectory } from '../core/ports/resource-directory.ts';
import type { ReadingPoint, ReadingValue } from '../core/readings.ts';

/** One reading as the MQTT payload parsers return it (the ids come from the topic). */
export interface MqttParsedReading {
  values: Record<string, ReadingValue>;
  /** epoch ms (or anything the ingest schema accepts); defaults to the receive time */
  timestamp?: number | string | undefined;
}

export interface BrokerIngestReading extends MqttParsedReading {
  dataSourceId: string;
}

export interface BrokerIngestRejection {
  index?: number;
  line?: number;
  code: string;
  message: string;
}

export interface BrokerIngestResult {
  accepted: number;
  rejected: readonly BrokerIngestRejection[];
}

/** The slice of core's ingest service the broker calls. Resolves only after the commit. */
export interface BrokerIngest {
  ingest(
    principal: ApiKeyPrincipal,
    bucketId: string,
    readings: BrokerIngestReading[],
    options?: { partial?: boolean },
  ): Promise<BrokerIngestResult>;
}

/** Optional ACL for topics outside `dakkio/` (Mosquitto-style rules, mosquitto-compat). */
export interface OtherTopicAcl {
  canPublish(principal: DevicePrincipal | null, clientId: string, topic: string): Promise<boolean>;
  canSubscribe(principal: DevicePrincipal | null, clientId: string, filter: string): Promise<boolean>;
  /**
   * Per delivered message (synchronous: Aedes' authorizeForward is), as Mosquitto
   * checks read access on delivery rather than at SUBSCRIBE. Absent = delivered.
   */
  canRead?(principal: DevicePrincipal | null, clientId: string, topic: string): boolean;
  /**
   * Topic mappings: turns an allowed publish outside dakkio/ into readings and
   * resolves once they are committed (so the PUBACK follows the commit); returns
   * how many readings were stored (0 = no mapping). Throws DakkioError: payload
   * errors are reported on the error topic, anything else withholds the PUBACK.
   * The message is routed to subscribers either way.
   */
  ingest?(principal: DevicePrincipal, topic: string, payload: Buffer, receivedAt: number): Promise<number>;
}

export interface BrokerDeps {
  /** core/auth: throws DakkioError('unauthorized') with credentialProblem set. */
  verifyApiKey(secret: string): Promise<ApiKeyPrincipal>;
  ingest: BrokerIngest;
  /** core/ingest parseMqttDataPayload: throws DakkioError invalid_json / validation_failed. */
  parseDataPayload(payload: Buffer, receivedAt: number): MqttParsedReading | MqttParsedReading[];
  /** core/ingest parseMqttMetricPayload: throws DakkioError validation_failed. */
  parseMetricPayload(metric: string, payload: Buffer, receivedAt: number): MqttParsedReading | MqttParsedReading[];
  directory: ResourceDirectory;
  events: EventBus;
  /** The pipeline's commit hook: every committed point (HTTP and MQTT alike). Returns an unsubscribe. */
  onCommitted(listener: (points: readonly ReadingPoint[]) => void): () => void;
  logger: Logger;
  clock: Clock;
  /** Legacy username/password credentials (mosquitto-compat); null = refused. */
  authenticateOther?: (username: string | undefined, password: string, clientId: string) => Promise<DevicePrincipal | null>;
  /** Topics outside dakkio/; without it they are refused. */
  otherTopics?: OtherTopicAcl;
}

export interface BrokerTlsOptions {
  cert: string | Buffer;
  key: string | Buffer;
  mqttsPort: number;
  wssPort: number;
}

export interface BrokerOptions {
  host: string;
  /** DAKKIO_MQTT_PORT; 0 = pick a free port */
  mqttPort: number;
  /** DAKKIO_MQTT_WS_PORT; 0 = pick a free port */
  wsPort: number;
  wsPath: string;
  tls?: BrokerTlsOptions | undefined;
  allowAnonymous: boolean;
  maxPayloadBytes: number;
  /** publishes per second per API key (per client for other credentials); 0 = unlimited */
  publishRatePerKey: number;
  /** CONNECTs per second per remote IP; 0 = unlimited */
  connectRatePerIp: number;
}

export const defaultBrokerOptions: BrokerOptions = {
  host: '0.0.0.0',
  mqttPort: 1883,
  wsPort: 8083,
  wsPath: '/mqtt',
  allowAnonymous: false,
  maxPayloadBytes: 262_144,
  publishRatePerKey: 5_000,
  connectRatePerIp: 100,
};

export interface BrokerPorts {
  mqtt: number;
  mqttWs: number;
  mqtts?: number;
  wss?: number;
}

export interface Broker {
  readonly ports: BrokerPorts;
  /** Every connected client, or (with an owner) those authenticated with that owner's credentials. */
  connectedClients(ownerId?: string): number;
  /** Prometheus-style names, labels inline: `dakkio_mqtt_messages_rejected_total{reason="invalid_json"}`. */
  counters(): Record<string, number>;
  /** Publishes an alert event on `dakkio/<bucketId>/alerts` (also done for every `alert.event` on the bus). */
  publishAlert(bucketId: string, payload: Record<string, unknown>): Promise<void>;
  /** Stops accepting, lets in-flight publishes finish their commit, then closes every session. Idempotent. */
  close(): Promise<void>;
}
