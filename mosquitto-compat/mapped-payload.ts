/**
 * The readings one message carries under a topic mapping: payload "value" is one
 * value as text (like dakkio/<b>/<s>/data/<metric>), payload "json" is any of the
 * dakkio reading shapes (like dakkio/<b>/<s>/data) or, when the mapping names a
 * metric, a bare JSON number/boolean/string. Validation is core's, so mapped and
 * native topics accept exactly the same values.
 */
import { DakkioError } from '../core/errors.ts';
import { parseMqttDataPayload, parseMqttMetricPayload, validateReading } from '../core/ingest/reading-input.ts';
import type { ReadingPoint } from '../core/readings.ts';

export interface ResolvedTopicMapping {
  mappingId: string;
  bucketId: string;
  dataSourceId: string;
  metric: string | null;
  payload: 'value' | 'json';
}

function jsonReadings(metric: string | null, payload: Buffer, receivedAt: number) {
  if (metric !== null) {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      throw new DakkioError('invalid_json', 'payload is not valid JSON');
    }
    if (typeof json === 'number' || typeof json === 'boolean' || typeof json === 'string') {
      return [validateReading({ values: { [metric]: json } }, receivedAt)];
    }
  }
  return parseMqttDataPayload(payload, receivedAt);
}

/** Throws DakkioError validation_failed / invalid_json for a payload the mapping can't store. */
export function mappedPayloadToPoints(mapping: ResolvedTopicMapping, payload: Buffer, receivedAt: number): ReadingPoint[] {
  const { bucketId, dataSourceId, metric } = mapping;
  const readings =
    mapping.payload === 'value'
      ? parseMqttMetricPayload(metric ?? '', payload, receivedAt)
      : jsonReadings(metric, payload, receivedAt);
  const points: ReadingPoint[] = [];
  for (const r of readings) {
    for (const [name, value] of Object.entries(r.values)) {
      points.push({ bucketId, dataSourceId, metric: name, ts: r.timestamp, value });
    }
  }
  return points;
}
