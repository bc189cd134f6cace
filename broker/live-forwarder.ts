/**
 * Live data: every committed point (MQTT or HTTP alike) goes out on
 * `dakkio/<bucketId>/<dataSourceId>/data` in the same JSON a device would publish,
 * `{"values": {...}, "timestamp": "<ISO>"}`, one message per (source, timestamp).
 * Forwarding from the commit hook rather than letting Aedes route the device's own
 * packet means subscribers see only stored readings, in one shape, whatever form
 * (bare object, batch, single metric) the device used.
 */
import type { ReadingPoint, ReadingValue } from '../core/readings.ts';
import { dataTopic } from './topics.ts';

export interface CanonicalReading {
  values: Record<string, ReadingValue>;
  timestamp: string;
}

export interface ForwardedMessage {
  topic: string;
  payload: CanonicalReading;
}

/** Groups points by (bucket, source, ts), keeping commit order; `wanted` skips buckets nobody listens to. */
export function groupForForwarding(
  points: readonly ReadingPoint[],
  wanted: (bucketId: string) => boolean = () => true,
): ForwardedMessage[] {
  const groups = new Map<string, ForwardedMessage>();
  for (const p of points) {
    if (!wanted(p.bucketId)) continue;
    const key = `${p.bucketId}/${p.dataSourceId}/${p.ts}`;
    let msg = groups.get(key);
    if (!msg) {
      msg = { topic: dataTopic(p.bucketId, p.dataSourceId), payload: { values: {}, timestamp: new Date(p.ts).toISOString() } };
      groups.set(key, msg);
    }
    msg.payload.values[p.metric] = p.value;
  }
  return [...groups.values()];
}
