/**
 * The embedded MQTT broker: Aedes 1.x (MQTT 3.1.1) behind dakkio's API-key auth,
 * topic ACL and the core ingest pipeline.
 *
 * Ack-after-commit: in Aedes 1.2.0, node_modules/aedes/lib/handlers/publish.js runs
 * `publishActions = [authorizePublish, enqueuePublish]` in series (lines 18-21, 43),
 * and only enqueuePublish writes the PUBACK for QoS 1 (lines 92-96:
 * `write(client, new PubAck(packet), ...)`). So holding the authorizePublish
 * callback until ingest() has committed means the PUBACK leaves after the commit.
 * Aedes also stops reading that socket while a chunk's packets are pending
 * (lib/client.js nextBatch/_parsingBatch), which is the backpressure we want.
 */
import { promisify } from 'node:util';
import { Aedes, type Client, type PreConnectHandler, type PublishPacket } from 'aedes';
import type { ErrorDetail } from '../core/errors.ts';
import { COUNTER, createBrokerCounters } from './counters.ts';
import { createAuthenticate } from './authenticate.ts';
import { skipUnheardClientNotices } from './client-notices.ts';
import { errorTopicFor } from './error-mapping.ts';
import { startListeners } from './listeners.ts';
import { groupForForwarding } from './live-forwarder.ts';
import { skipPacketIdCache } from './packet-id-cache.ts';
import { guardPacketSize, maxRemainingLengthFor } from './packet-size-guard.ts';
import { createAckQueue } from './ack-queue.ts';
import { type PubAckConnection, writePubAck } from './puback.ts';
import { createPublishHandler, type PublishOutcome } from './publish-handler.ts';
import { createReadThrottle } from './read-throttle.ts';
import { createSafeMqEmitter } from './safe-mqemitter.ts';
import { createKeyLifecycle } from './session-events.ts';
import { createSessionRegistry, type Session } from './sessions.ts';
import { answerSinkWithoutRouting } from './sink-publish.ts';
import { createSlowSubscriberGuard } from './slow-subscriber-guard.ts';
import { createSubscriptionAcl } from './subscription-acl.ts';
import { alertsTopic, dataTopic } from './topics.ts';
import type { Broker, BrokerDeps, BrokerOptions } from './types.ts';

/**
 * Device publishes that were ingested are re-addressed here so Aedes acknowledges
 * them without routing the raw packet: subscribers get the committed readings from
 * onCommitted instead. `$` topics are never matched by wildcards [MQTT-4.7.2-1] and
 * the subscribe ACL refuses every `$` filter, so nothing can receive them.
 */
const SINK_TOPIC = '$dakkio/ingested';
/** Times a publisher's socket stopped being read because the ingest backlog was full. */
const THROTTLED = 'dakkio_mqtt_publishers_throttled_total';

/** The one persistence call we make directly (typed loosely in aedes.d.ts). */
interface RetainedStore {
  storeRetained(packet: PublishPacket): Promise<void>;
}

export async function createBroker(deps: BrokerDeps, options: BrokerOptions): Promise<Broker> {
  // before any packet is written: 65,536 cached Buffers would sit in the old space for good
  skipPacketIdCache();
  const log = deps.logger.child({ component: 'broker' });
  const counters = createBrokerCounters();
  const sessions = createSessionRegistry(deps.clock);
  const sessionOf = new WeakMap<Client, Session>();
  let closing = false;

  const drop = (session: Session, reason: string) => {
    if (session.dropped) return;
    session.dropped = true;
    counters.inc(COUNTER.sessionsDropped);
    log.info({ clientId: session.clientId, reason }, 'mqtt session dropped');
    session.connection.close();
  };
  const dropExpired = (session: Session) => drop(session, 'expired');
  const keyLifecycle = createKeyLifecycle({ deps, sessions, log, drop });
  // attached to subscribers only, at their first granted subscription (a persistent session's
  // restored ones included: Aedes asks authorizeSubscribe for those too)
  const slowSubscribers = createSlowSubscriberGuard(counters);
  // Aedes gives an empty client id a generated one before authenticate runs, so it is noted here
  const emptyPersistentId = new WeakSet<Client>();
  const preConnect: PreConnectHandler = (client, packet, cb) => {
    if (packet.clientId === '' && !packet.clean) emptyPersistentId.add(client);
    cb(null, true);
  };
  const authenticate = createAuthenticate({
    deps,
    options,
    counters,
    sessions,
    log,
    isClosing: () => closing,
    hasEmptyPersistentId: (client) => emptyPersistentId.has(client),
    onSession(client, session) {
      sessions.add(session);
      sessionOf.set(client, session);
      // `on`, not `once`: a socket closes once, and once() adds a wrapper and its state per CONNECT
      client.conn.on('close', () => sessions.remove(session));
      sessions.scheduleExpiry(session, dropExpired);
    },
  });

  // issue 7 item 6: bounded emitter recursion, QoS 0 drops for slow subscribers, read backpressure
  const mq = createSafeMqEmitter();
  const { authorizeSubscribe, authorizeForward } = createSubscriptionAcl({
    deps,
    sessions,
    sessionOf,
    counters,
    sinkTopic: SINK_TOPIC,
    // notices exists once Aedes does; nothing subscribes before that
    onGranted: (client, topic) => {
      slowSubscribers.attach(client);
      notices.granted(topic);
    },
  });
  const aedes = await Aedes.createBroker({ mq, preConnect, authenticate, authorizePublish, authorizeSubscribe, authorizeForward });
  // the sink wrapper goes on last so a device publish meets its check first
  const notices = skipUnheardClientNotices(aedes as unknown as Parameters<typeof skipUnheardClientNotices>[0]);
  answerSinkWithoutRouting(aedes, SINK_TOPIC);
  aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'mqtt client error'));
  aedes.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'mqtt connection error'));
  const publish = promisify(aedes.publish.bind(aedes)) as (packet: PublishPacket) => Promise<void>;
  const publishJson = (topic: string, body: unknown, qos: 0 | 1, retain = false) =>
    publish({ cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(body)), qos, retain, dup: false });

  const reportError = (session: Session, topic: string, code: string, message: string, details?: readonly ErrorDetail[]) => {
    counters.rejected(code);
    // `details` extends API.md's {topic, code, message} with the same details HTTP gives
    const body = details && details.length > 0 ? { topic, code, message, details } : { topic, code, message };
    // QoS 0 on purpose: never queued for an offline session, so a later holder of the
    // same client id (another owner) cannot read these
    publishJson(errorTopicFor(session.clientId), body, 0).catch((err) =>
      log.warn({ err, clientId: session.clientId }, 'could not publish on the error topic'),
    );
  };
  const handlePublish = createPublishHandler({ deps, options, counters, reportError });
  type Publish = { client: Client; packet: PublishPacket; cb: (err?: Error | null) => void };
  const acks = createAckQueue<Session, Publish, PublishOutcome>((session, { client, packet, cb }, outcome) => {
    throttle.released();
    try {
      applyOutcome(client, session, packet, outcome, cb);
    } catch (err) {
      // never leave Aedes waiting: an unanswered callback would stall this client for good
      log.error({ err, clientId: session.clientId }, 'mqtt publish outcome failed');
      cb(err as Error);
    }
  });

  counters.inc(THROTTLED, 0);
  const throttle = createReadThrottle({
    inFlight: () => acks.size,
    mayHold: (client) => sessionOf.has(client as Client),
    onPause: () => counters.inc(THROTTLED),
  });

  function applyOutcome(
    client: Client,
    session: Session,
    packet: PublishPacket,
    outcome: PublishOutcome,
    cb: (err?: Error | null) => void,
  ) {
    if (outcome.action === 'forward') return cb(null);
    if (outcome.action === 'disconnect') {
      log.info({ clientId: session.clientId, reason: outcome.reason }, 'mqtt publish refused; disconnecting');
      return cb(new Error(`publish refused: ${outcome.reason}`));
    }
    packet.topic = SINK_TOPIC;
    packet.retain = false;
    if (outcome.retained) {
      const { bucketId, dataSourceId, reading } = outcome.retained;
      const ts = reading.timestamp ?? deps.clock.now();
      const body = { values: reading.values, timestamp: typeof ts === 'number' ? new Date(ts).toISOString() : ts };
      // storeRetained without routing: the live copy already went out through onCommitted
      (aedes as unknown as { persistence: RetainedStore }).persistence
        .storeRetained({ cmd: 'publish', topic: dataTopic(bucketId, dataSourceId), payload: Buffer.from(JSON.stringify(body)), qos: packet.qos, retain: true, dup: false })
        .catch((err: unknown) => log.warn({ err }, 'could not store a retained message'));
    }
    // QoS 1: the PUBACK in one write (puback.ts); Aedes then goes on with the packet as QoS 0
    if (packet.qos === 1 && packet.messageId !== undefined && client.connected) {
      const written = writePubAck(client.conn as unknown as PubAckConnection, packet.messageId, () => {
        packet.qos = 0;
        cb(null);
      });
      if (written) return;
    }
    cb(null);
  }

  function authorizePublish(client: Client | null, packet: PublishPacket, cb: (err?: Error | null) => void) {
    const session = client ? sessionOf.get(client) : undefined;
    // client null = a will left behind by another cluster node: nobody to act for
    if (!client || !session) return cb(new Error('no session'));
    if (session.dropped || closing) return cb(new Error('session closing'));
    keyLifecycle.refresh(session);
    acks.add(session, { client, packet, cb }, handlePublish(session, packet), (err): PublishOutcome => {
      log.error({ err, clientId: session.clientId }, 'mqtt publish failed');
      return { action: 'disconnect', reason: 'internal' };
    });
  }

  const unsubscribers = [
    ...keyLifecycle.subscribe(),
    deps.events.subscribe('alert.event', (e) => publishAlert(e.bucketId, e.payload)),
    deps.onCommitted((points) => {
      if (aedes.closed) return;
      // most readings have no live audience: skip grouping and Aedes' routing for them
      for (const msg of groupForForwarding(points, sessions.hasWatchers)) {
        counters.inc(COUNTER.messagesForwarded);
        publishJson(msg.topic, msg.payload, 0).catch((err) => log.warn({ err }, 'live forwarding failed'));
      }
    }),
  ];

  async function publishAlert(bucketId: string, payload: Record<string, unknown>) {
    if (aedes.closed) return;
    await publishJson(alertsTopic(bucketId), payload, 1);
  }

  const maxRemaining = maxRemainingLengthFor(options.maxPayloadBytes);
  const onTooLarge = () => counters.rejected('payload_too_large');
  let listeners: Awaited<ReturnType<typeof startListeners>>;
  try {
    listeners = await startListeners(
      options,
      (stream, req) => {
        const client = aedes.handle(stream, req);
        guardPacketSize(client, maxRemaining, onTooLarge);
        throttle.attach(client);
      },
      maxRemaining + 5,
    );
  } catch (err) {
    for (const u of unsubscribers) u();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw err;
  }
  log.info({ ...listeners.ports }, 'mqtt listening');

  let closed: Promise<void> | undefined;
  return {
    ports: listeners.ports,
    connectedClients: (ownerId?: string) =>
      ownerId === undefined ? aedes.connectedClients : sessions.byOwner(ownerId).length,
    counters: () => counters.snapshot(),
    publishAlert,
    close() {
      closed ??= (async () => {
        closing = true;
        listeners.stopAccepting();
        throttle.close();
        // in-flight QoS 1 publishes finish their commit and get their PUBACK first
        await acks.drained();
        await new Promise((resolve) => setImmediate(resolve));
        for (const u of unsubscribers) u();
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        sessions.clear();
        await listeners.closed();
        log.info({}, 'mqtt closed');
      })();
      return closed;
    },
  };
}
