/**
 * The dakkio topic tree (API.md "MQTT"): pure parsing, no I/O, so the ACL hooks
 * stay small and the rules can be tested on their own.
 */
import { isId } from '../core/ids.ts';

export const TOPIC_ROOT = 'dakkio';

/** Where a PUBLISH is aimed. */
export type PublishTarget =
  | { kind: 'data'; bucketId: string; dataSourceId: string }
  | { kind: 'metric'; bucketId: string; dataSourceId: string; metric: string }
  /** under dakkio/ but not a topic devices may publish to (alerts, error topics, junk) */
  | { kind: 'reserved' }
  | { kind: 'other' };

export function parsePublishTopic(topic: string): PublishTarget {
  const levels = topic.split('/');
  if (levels[0] !== TOPIC_ROOT) return { kind: 'other' };
  const [, bucketId, dataSourceId, data, metric, ...rest] = levels;
  if (bucketId === undefined || dataSourceId === undefined || data !== 'data' || rest.length > 0) {
    return { kind: 'reserved' };
  }
  if (!isId(bucketId) || dataSourceId.length === 0) return { kind: 'reserved' };
  if (metric === undefined) return { kind: 'data', bucketId, dataSourceId };
  return { kind: 'metric', bucketId, dataSourceId, metric };
}

/**
 * parsePublishTopic for the hot path: a device publishes to the same few topics over
 * and over, and a Map hit on the topic string is cheaper than the split, the id
 * check and the result object per message (~1.5% of the broker's CPU at 100 × 20).
 * Bounded: topics come from clients, so the cache starts over when it is full.
 */
export function createPublishTopicCache(maxEntries = 10_000): (topic: string) => PublishTarget {
  const cache = new Map<string, PublishTarget>();
  return (topic) => {
    let target = cache.get(topic);
    if (target === undefined) {
      if (cache.size >= maxEntries) cache.clear();
      target = Object.freeze(parsePublishTopic(topic));
      cache.set(topic, target);
    }
    return target;
  };
}

/** What a SUBSCRIBE filter asks for. */
export type SubscribeTarget =
  /** dakkio/clients/<clientId>/errors */
  | { kind: 'errors'; clientId: string }
  /** dakkio/<bucketId>/... */
  | { kind: 'bucket'; bucketId: string }
  /** `#`, `+/…`, `dakkio/#`, `dakkio/+/…`, `$SYS/…`, malformed dakkio/ filters */
  | { kind: 'refused' }
  | { kind: 'other' };

export function parseSubscribeFilter(filter: string): SubscribeTarget {
  const levels = filter.split('/');
  const first = levels[0] ?? '';
  // [MQTT-4.7.2-1]: wildcards at the root never match $-topics, but a device key has
  // no business reading across the whole tree either way.
  if (first === '#' || first === '+' || first.startsWith('$')) return { kind: 'refused' };
  if (first !== TOPIC_ROOT) return { kind: 'other' };
  const second = levels[1];
  if (second === undefined || second === '#' || second === '+' || second === '') return { kind: 'refused' };
  if (second === 'clients') {
    const clientId = levels[2];
    if (levels.length !== 4 || levels[3] !== 'errors' || !clientId || clientId === '+' || clientId === '#') {
      return { kind: 'refused' };
    }
    return { kind: 'errors', clientId };
  }
  if (!isId(second)) return { kind: 'refused' };
  return { kind: 'bucket', bucketId: second };
}

/** The bucket a delivered (concrete) topic belongs to, or null outside dakkio/<bucketId>/. */
export function bucketOfTopic(topic: string): string | null {
  if (!topic.startsWith(`${TOPIC_ROOT}/`)) return null;
  const end = topic.indexOf('/', TOPIC_ROOT.length + 1);
  const second = topic.slice(TOPIC_ROOT.length + 1, end === -1 ? undefined : end);
  return isId(second) ? second : null;
}

export const dataTopic = (bucketId: string, dataSourceId: string) => `${TOPIC_ROOT}/${bucketId}/${dataSourceId}/data`;
export const alertsTopic = (bucketId: string) => `${TOPIC_ROOT}/${bucketId}/alerts`;

/** Does a concrete topic match an MQTT filter? (`$` topics only match filters that start with `$`) */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && !filter.startsWith('$')) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

/** The highest QoS among a client's subscriptions matching `topic` (-1 when none does). */
export function grantedQos(subscriptions: Record<string, { qos?: number }>, topic: string): number {
  let max = -1;
  for (const [filter, sub] of Object.entries(subscriptions)) {
    if ((sub.qos ?? 0) > max && topicMatches(filter, topic)) max = sub.qos ?? 0;
  }
  return max;
}
