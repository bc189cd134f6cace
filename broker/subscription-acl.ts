/**
 * Who may subscribe to what, and who receives what (Aedes' authorizeSubscribe and
 * authorizeForward hooks): dakkio topics by API-key rights and bucket ownership, a
 * client's own error topic, and topics outside dakkio/ by the mosquitto-compat rules.
 */
import type { AedesPublishPacket, Client, Subscription } from 'aedes';
import { keyAllows } from '../core/auth/principal.ts';
import { COUNTER, type BrokerCounters } from './counters.ts';
import { errorTopicFor } from './error-mapping.ts';
import type { Session, SessionRegistry } from './sessions.ts';
import { bucketOfTopic, grantedQos, parseSubscribeFilter } from './topics.ts';
import type { BrokerDeps } from './types.ts';

export function createSubscriptionAcl(o: {
  deps: Pick<BrokerDeps, 'directory' | 'otherTopics'>;
  sessions: Pick<SessionRegistry, 'watch'>;
  sessionOf: WeakMap<Client, Session>;
  counters: BrokerCounters;
  /** where ingested publishes are re-addressed: never delivered to anyone */
  sinkTopic: string;
  /**
   * A subscription is granted, called before Aedes adds it (the $SYS client notices start once
   * someone listens; the slow-subscriber guard goes on the client's QoS 0 delivery).
   */
  onGranted(client: Client, topic: string): void;
}) {
  const { deps, sessions, sessionOf, counters } = o;

  function authorizeSubscribe(
    client: Client,
    sub: Subscription,
    answer: (err: Error | null, sub?: Subscription | null) => void,
  ) {
    const cb = (err: Error | null, granted?: Subscription | null) => {
      if (granted) o.onGranted(client, granted.topic);
      answer(err, granted);
    };
    const session = sessionOf.get(client);
    const refuse = () => {
      counters.inc(COUNTER.subscriptionsRefused);
      cb(null, null);
    };
    if (!session || session.dropped) return refuse();
    const principal = session.principal;
    const target = parseSubscribeFilter(sub.topic);
    // Mosquitto-style credentials get every valid filter, as Mosquitto 2.0 grants them;
    // what they may read is decided per delivered message (authorizeForward)
    const legacyWide = target.kind === 'refused' && principal?.kind === 'mqtt-credential';
    if (target.kind === 'refused' && !legacyWide) return refuse();
    if (target.kind === 'errors') return target.clientId === session.clientId ? cb(null, sub) : refuse();
    if (target.kind === 'other' || legacyWide) {
      if (!deps.otherTopics) return refuse();
      deps.otherTopics.canSubscribe(principal, session.clientId, sub.topic).then(
        (ok) => (ok ? cb(null, sub) : refuse()),
        () => refuse(),
      );
      return;
    }
    if (target.kind === 'refused') return refuse();
    if (principal?.kind !== 'api-key' || !keyAllows(principal, target.bucketId, 'read')) return refuse();
    deps.directory.bucketOwner(target.bucketId).then(
      (owner) => {
        if (owner !== principal.ownerId) return refuse();
        sessions.watch(session, target.bucketId);
        cb(null, sub);
      },
      () => refuse(),
    );
  }

  /**
   * Re-checks rights on every delivery, queued ones included (Aedes runs this for a
   * persistent session's backlog too): a bucket topic reaches only a session that was
   * itself granted a subscription in that bucket, so a client id taken over by
   * another owner never inherits the previous owner's queued messages, and a key
   * whose scope shrank stops receiving at once.
   */
  function authorizeForward(client: Client, packet: AedesPublishPacket) {
    const allowed = mayForward(client, packet);
    if (!allowed || allowed.qos === 0) return allowed;
    // Aedes 1.2.0 downgrades only for a subscription equal to the topic (client.js deliverQoS);
    // a QoS 1 wildcard subscription would get QoS 2 [MQTT-3.8.4-6]
    const subs = (client as unknown as { subscriptions: Record<string, { qos?: number }> }).subscriptions;
    const granted = grantedQos(subs, packet.topic);
    if (granted < 1 || granted >= allowed.qos) return allowed;
    return Object.assign(Object.create(Object.getPrototypeOf(allowed)) as AedesPublishPacket, allowed, {
      qos: granted,
    });
  }

  function mayForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    const session = sessionOf.get(client);
    if (!session || session.dropped) return null;
    const bucketId = bucketOfTopic(packet.topic);
    const principal = session.principal;
    if (bucketId === null) {
      if (packet.topic === o.sinkTopic) return null;
      // wide subscriptions (`#`) of Mosquitto-style credentials must not reach other clients' error topics
      if (packet.topic.startsWith('dakkio/')) return packet.topic === errorTopicFor(session.clientId) ? packet : null;
      const canRead = deps.otherTopics?.canRead;
      return !canRead || canRead(principal, session.clientId, packet.topic) ? packet : null;
    }
    if (!session.watched?.has(bucketId)) return null;
    if (principal?.kind === 'api-key' && !keyAllows(principal, bucketId, 'read')) return null;
    return packet;
  }

  return { authorizeSubscribe, authorizeForward };
}
