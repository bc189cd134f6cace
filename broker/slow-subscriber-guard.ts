/**
 * QoS 0 deliveries to a subscriber that does not read are dropped, not buffered
 * (issue 7, item 6). In Aedes 1.2.0 a QoS 0 delivery (`client.deliver0`,
 * node_modules/aedes/lib/client.js) writes to the socket and, when the write returns
 * false, holds its mqemitter slot until 'drain' (lib/write.js → waitForDrain). With
 * one subscriber that never reads, every slot of the broker-wide emitter ends up
 * waiting for that socket, so everyone else's messages queue in the emitter without
 * limit until the 60 s drain timeout. Wrapping deliver0 per client: a delivery is
 * dropped (and counted) while the socket's buffer is full or too many writes are
 * pending, and the emitter slot is released at once instead of after the write, so
 * one socket can hold at most `maxPendingWrites` messages plus its stream buffer.
 * Aedes' drain timeout still disconnects a subscriber that stays stuck. QoS 1
 * deliveries keep Aedes' behaviour (they are bounded by its inflight window).
 * Private API (deliver0 is an own property set in the Client constructor and read
 * by handlers/subscribe.js when subscribing), so it degrades to a no-op if the shape
 * changes.
 *
 * When: only a client that subscribes receives anything, so the wrapper is attached
 * when its first subscription is granted: authorizeSubscribe answers before Aedes'
 * addSubs reads `client.deliver0` (handlers/subscribe.js runs authorize, then addSubs),
 * and a persistent session's stored subscriptions, restored at CONNECT, go through
 * authorize too. Attaching it to every connection cost two closures per CONNECT (and
 * tsx's `__name` on each, ~1% of a connect's CPU) for devices that only publish.
 */
import type { BrokerCounters } from './counters.ts';

export const DROPPED_SLOW_SUBSCRIBER = 'dakkio_mqtt_messages_dropped_total{reason="slow_subscriber"}';
export const DEFAULT_MAX_PENDING_WRITES = 256;

type Deliver = (packet: unknown, cb: () => void) => void;
interface ClientLike {
  deliver0?: Deliver;
  conn?: { writableNeedDrain?: boolean; destroyed?: boolean };
}

export interface SlowSubscriberGuard {
  /**
   * Wraps one client's QoS 0 delivery; call before Aedes adds its first subscription (see the
   * file comment). Idempotent: a client already wrapped is left as it is.
   */
  attach(client: unknown): boolean;
}

export function createSlowSubscriberGuard(counters: BrokerCounters, maxPendingWrites = DEFAULT_MAX_PENDING_WRITES): SlowSubscriberGuard {
  counters.inc(DROPPED_SLOW_SUBSCRIBER, 0);
  // only subscribers are here, so a WeakSet entry per subscribing client is cheap
  const guarded = new WeakSet<ClientLike>();
  return {
    attach(client) {
      const c = client as ClientLike;
      if (guarded.has(c)) return true;
      const original = c.deliver0;
      if (typeof original !== 'function' || !c.conn) return false;
      guarded.add(c);
      const conn = c.conn;
      let pending = 0;
      const written = () => {
        pending--;
      };
      c.deliver0 = function guardedDeliver0(packet, cb) {
        if (pending >= maxPendingWrites || conn.writableNeedDrain === true) {
          counters.inc(DROPPED_SLOW_SUBSCRIBER);
          return cb();
        }
        pending++;
        original.call(this, packet, written);
        // the emitter slot is not tied to this socket's drain (see the file comment)
        cb();
      };
      return true;
    },
  };
}
