/**
 * Aedes 1.2.0 publishes `$SYS/<broker id>/new/clients` on every accepted CONNECT
 * (aedes.js `_finishRegisterClient`) and `$SYS/<broker id>/disconnect/clients` on
 * every disconnect (`unregisterClient`). Each is a full publish(): an aedes-packet
 * copy, a retained-store step, an mqemitter match and a 'publish' event, ~3% of
 * the broker's CPU per connect in a connect storm (bench/RESULTS.md, task E).
 *
 * Who can receive them here:
 * - Aedes itself listens to `$SYS/+/new/clients` to close a client id that connected
 *   on *another* broker of a cluster (closeSameClients ignores its own broker id).
 *   dakkio's mqemitter is in-process (safe-mqemitter.ts), so its own notices reach
 *   no other broker. A shared emitter for a cluster would have to drop this guard.
 * - A client subscribed to a `$SYS/…` filter. Wildcards at the first level never
 *   match `$` topics [MQTT-4.7.2-1]; API keys are refused every `$` filter, but
 *   Mosquitto-style credentials may subscribe to `$SYS/#`. So the notices are
 *   skipped only until the first `$SYS` subscription is granted; from then on every
 *   notice goes through Aedes as before (sticky: no bookkeeping on unsubscribe).
 *
 * publish() is public API; the wrapper keeps both call shapes. If the instance has
 * no string `id` (the topic could not be known), nothing is changed.
 */
type Done = (err?: Error | null) => void;
interface NoticeBroker {
  id?: unknown;
  publish(packet: { topic: string }, client?: unknown, done?: Done): void;
}

export interface ClientNotices {
  /** true when the notices are being skipped (the wrapper is installed and no `$SYS` filter granted) */
  readonly skipping: boolean;
  /** Call for every granted subscription filter. */
  granted(filter: string): void;
}

export function skipUnheardClientNotices(broker: NoticeBroker): ClientNotices {
  if (typeof broker.id !== 'string') return { skipping: false, granted: () => {} };
  const newClients = `$SYS/${broker.id}/new/clients`;
  const disconnected = `$SYS/${broker.id}/disconnect/clients`;
  let heard = false;
  const original = broker.publish;
  broker.publish = function publishUnlessUnheardNotice(this: NoticeBroker, packet, client, done) {
    if (heard || (packet.topic !== newClients && packet.topic !== disconnected)) {
      return original.call(this, packet, client, done);
    }
    const cb = typeof client === 'function' ? (client as Done) : done;
    cb?.(null);
  };
  return {
    get skipping() {
      return !heard;
    },
    granted(filter) {
      if (filter.startsWith('$SYS')) heard = true;
    },
  };
}
