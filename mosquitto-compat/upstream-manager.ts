/**
 * Connections to upstream brokers: MQTT.js clients with a fixed client id and a
 * persistent session (clean=false), subscribing at the configured QoS. A message
 * is acknowledged to the upstream (PUBACK/PUBCOMP) only after its mapped readings
 * are committed (MQTT.js handleMessage), so a dakkio crash loses nothing: the
 * upstream redelivers what was not acknowledged. A message without a mapping,
 * or whose payload fails validation, is acknowledged and counted (as for native
 * topics). When the store fails the message is not acknowledged: the connection
 * is dropped and re-established with backoff, and the upstream redelivers.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { isDakkioError } from '../core/errors.ts';
import { type Logger, silentLogger } from '../core/logger.ts';
import type { ReadingPoint } from '../core/readings.ts';
import type { MetadataDb } from '../core/store/metadata/sqlite-metadata-db.ts';
import type { TopicMappingService } from './topic-mapping-service.ts';
import { toUpstreamConfig, type UpstreamConfig } from './upstream-service.ts';

export interface UpstreamStatus {
  connected: boolean;
  /** the SUBACK for the configured subscriptions arrived on the current connection */
  subscribed: boolean;
  lastError: string | null;
  /** messages received from the upstream */
  messages: number;
  /** of those: readings committed, no mapping, payload refused */
  stored: number;
  unmapped: number;
  invalid: number;
  /** epoch ms */
  lastConnectedAt: number | null;
}

export interface UpstreamManagerOptions {
  db: MetadataDb;
  mappings: Pick<TopicMappingService, 'resolve' | 'toPoints'>;
  /** resolves once the points are durable (IngestPipeline.submit) */
  submit: (points: readonly ReadingPoint[]) => Promise<void>;
  now?: () => number;
  logger?: Logger;
  /** reconnect backoff: initial and maximum delay (doubling, with jitter) */
  backoff?: { initialMs?: number; maxMs?: number };
  /** every message received, after it was handled (e.g. to republish it to local subscribers) */
  onMessage?: (upstream: UpstreamConfig, topic: string, payload: Buffer) => void;
}

export interface UpstreamManager {
  /** Connects every enabled upstream. */
  start(): Promise<void>;
  /** Re-reads one upstream's configuration: reconnects, or stops it when disabled or deleted. */
  reload(upstreamId: string): Promise<void>;
  /** null when the upstream is not running (disabled, unknown) */
  status(upstreamId: string): UpstreamStatus | null;
  close(): Promise<void>;
}

interface Running {
  config: UpstreamConfig;
  client: MqttClient | null;
  status: UpstreamStatus;
  stopped: boolean;
  attempt: number;
  timer: NodeJS.Timeout | null;
}

export function createUpstreamManager(opts: UpstreamManagerOptions): UpstreamManager {
  const { db, mappings, submit } = opts;
  const now = opts.now ?? Date.now;
  const logger = (opts.logger ?? silentLogger).child({ component: 'upstream' });
  const initialMs = opts.backoff?.initialMs ?? 1000;
  const maxMs = opts.backoff?.maxMs ?? 60_000;
  const running = new Map<string, Running>();
  let closed = false;

  async function handle(r: Running, topic: string, payload: Buffer): Promise<void> {
    r.status.messages++;
    let points: ReadingPoint[];
    try {
      const mapping = await mappings.resolve(r.config.ownerId, topic);
      if (!mapping) {
        r.status.unmapped++;
        return;
      }
      points = mappings.toPoints(mapping, payload, now());
    } catch (err) {
      if (!isDakkioError(err) || (err.code !== 'validation_failed' && err.code !== 'invalid_json')) throw err;
      r.status.invalid++;
      return;
    }
    await submit(points);
    r.status.stored++;
  }

  function scheduleReconnect(r: Running): void {
    if (r.stopped || closed || r.timer) return;
    const delay = Math.min(maxMs, initialMs * 2 ** Math.min(r.attempt, 20));
    r.attempt++;
    r.timer = setTimeout(
      () => {
        r.timer = null;
        connect(r);
      },
      Math.round(delay * (0.5 + Math.random() / 2)),
    );
    r.timer.unref?.();
  }

  function connect(r: Running): void {
    if (r.stopped || closed) return;
    const { config } = r;
    const options: IClientOptions = {
      clientId: config.clientId,
      clean: false,
      // Our own backoff below; MQTT.js only knows a fixed period.
      reconnectPeriod: 0,
      connectTimeout: 30_000,
      protocolVersion: 4,
    };
    if (config.username !== null) options.username = config.username;
    if (config.password !== null) options.password = config.password;
    const client = mqtt.connect(config.url, options);
    r.client = client;
    // MQTT.js sends the PUBACK (QoS 1) / PUBCOMP (QoS 2) only once handleMessage calls back,
    // and hands over the next message only then: the documented backpressure hook. (customHandleAcks
    // would do the same but MQTT.js honours it only on MQTT 5 connections.)
    client.handleMessage = (packet, callback) => {
      const topic = packet.topic;
      const message = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      handle(r, topic, message).then(
        () => {
          // A connection that was stopped meanwhile must not acknowledge: the upstream will redeliver.
          if (r.stopped || r.client !== client) return;
          try {
            opts.onMessage?.(config, topic, message);
          } catch (err) {
            logger.error({ err, upstreamId: config.id }, 'upstream onMessage hook failed');
          }
          callback();
        },
        (err: unknown) => {
          // Not acknowledged: drop the connection so the upstream redelivers after we reconnect.
          r.status.lastError = `store: ${(err as Error).message}`;
          logger.warn({ err, upstreamId: config.id }, 'upstream message not stored; reconnecting');
          client.end(true);
        },
      );
    };
    client.on('connect', (connack) => {
      r.status.connected = true;
      r.status.lastConnectedAt = now();
      r.attempt = 0;
      logger.info({ upstreamId: config.id, sessionPresent: connack.sessionPresent }, 'upstream connected');
      const subs = Object.fromEntries(config.subscriptions.map((s) => [s.filter, { qos: s.qos }]));
      client.subscribe(subs, (err, granted) => {
        if (err) r.status.lastError = `subscribe: ${err.message}`;
        const refused = granted?.filter((g) => g.qos === 128) ?? [];
        if (refused.length > 0) r.status.lastError = `subscription refused: ${refused.map((g) => g.topic).join(', ')}`;
        r.status.subscribed = !err && refused.length === 0;
      });
    });
    client.on('error', (err) => {
      r.status.lastError = err.message;
    });
    client.on('close', () => {
      r.status.connected = false;
      r.status.subscribed = false;
      if (r.client === client) r.client = null;
      scheduleReconnect(r);
    });
  }

  async function stop(r: Running): Promise<void> {
    r.stopped = true;
    if (r.timer) clearTimeout(r.timer);
    r.timer = null;
    // force: never send acknowledgements for messages still being stored; the upstream redelivers them.
    await r.client?.endAsync(true);
    r.client = null;
    r.status.connected = false;
  }

  function launch(config: UpstreamConfig): void {
    const r: Running = {
      config,
      client: null,
      stopped: false,
      attempt: 0,
      timer: null,
      status: { connected: false, subscribed: false, lastError: null, messages: 0, stored: 0, unmapped: 0, invalid: 0, lastConnectedAt: null },
    };
    running.set(config.id, r);
    connect(r);
  }

  return {
    async start() {
      const rows = await db.selectFrom('mqtt_upstreams').selectAll().where('enabled', '=', 1).execute();
      for (const row of rows) if (!running.has(row.id)) launch(toUpstreamConfig(row));
    },

    async reload(id) {
      const current = running.get(id);
      if (current) {
        running.delete(id);
        await stop(current);
      }
      if (closed) return;
      const row = await db.selectFrom('mqtt_upstreams').selectAll().where('id', '=', id).executeTakeFirst();
      if (row && Number(row.enabled) === 1) launch(toUpstreamConfig(row));
    },

    status: (id) => {
      const r = running.get(id);
      return r ? { ...r.status } : null;
    },

    async close() {
      if (closed) return;
      closed = true;
      const all = [...running.values()];
      running.clear();
      await Promise.all(all.map(stop));
    },
  };
}
