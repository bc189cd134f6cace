/**
 * Ingested device publishes need a PUBACK from Aedes but no routing: subscribers get
 * the committed readings from onCommitted instead (create-broker.ts re-addresses the
 * packet to the sink topic). Aedes 1.2.0 still publishes every acknowledged QoS 1
 * packet (node_modules/aedes/lib/handlers/publish.js, enqueuePublish: PUBACK, then
 * `client.broker.publish(packet, client, done)`), and publish() costs a Packet copy,
 * a retained-store step, a persistence subscription lookup and an offline-enqueue
 * promise pair, an mqemitter match and a 'publish' event per message: ~10% of the
 * broker's CPU at 100 publishers × 20 in flight, plus its garbage, for a topic nobody
 * can receive. So the instance's publish() answers the sink topic at once and leaves
 * every other topic to Aedes. publish() is public API; the wrapper keeps its two
 * call shapes, `(packet, done)` and `(packet, client, done)`.
 */
type Done = (err?: Error | null) => void;
interface Publisher {
  publish(packet: { topic: string }, client?: unknown, done?: Done): void;
}

export function answerSinkWithoutRouting(broker: Publisher, sinkTopic: string): void {
  const original = broker.publish;
  broker.publish = function publishUnlessSink(this: Publisher, packet, client, done) {
    if (packet.topic !== sinkTopic) return original.call(this, packet, client, done);
    const cb = typeof client === 'function' ? (client as Done) : done;
    cb?.(null);
  };
}
