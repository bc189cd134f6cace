/**
 * MQTT topic names and filters (MQTT 3.1.1 §4.7), with the matching rules of
 * Mosquitto's mosquitto_topic_matches_sub (lib/util_topic.c). Hand-written rather
 * than taken from aedes/qlobber because core code may not import the broker's
 * libraries and the `$` rule must be exactly Mosquitto's.
 */

/** A valid subscription filter: `+` and `#` occupy whole levels, `#` only last [MQTT-4.7.1-2], [MQTT-4.7.1-3]. */
export function isValidFilter(filter: string): boolean {
  if (filter.length === 0 || filter.length > 65535 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] ?? '';
    if (level === '#') {
      if (i !== levels.length - 1) return false;
    } else if (level !== '+' && (level.includes('+') || level.includes('#'))) {
      return false;
    }
  }
  return true;
}

/** A valid topic name for PUBLISH: no wildcards [MQTT-3.3.2-2]. */
export function isValidTopicName(topic: string): boolean {
  return topic.length > 0 && topic.length <= 65535 && !topic.includes('+') && !topic.includes('#') && !topic.includes('\u0000');
}

/**
 * Does `filter` match the topic name `topic`? `#` also matches the parent level
 * (`a/#` matches `a`), `+` matches one (possibly empty) level, and a topic
 * beginning with `$` is never matched by a filter beginning with a wildcard
 * [MQTT-4.7.2-1]; Mosquitto extends that to "a `$` topic only matches a `$` filter".
 */
export function topicMatches(filter: string, topic: string): boolean {
  if ((filter.startsWith('$') && !topic.startsWith('$')) || (topic.startsWith('$') && !filter.startsWith('$'))) {
    return false;
  }
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}
