/**
 * The JSON body of GET /api/data, written straight from core's series: the same text
 * `JSON.stringify({ series: [{ dataSourceId, metric, points: [[iso, value], …] }] })`
 * gives, without first building a second array per point (a 30-day hourly answer is
 * 721 points, a raw one up to the query limit).
 */
import { isoTime } from '../core/iso-time.ts';
import type { ReadingValue, Series } from '../core/readings.ts';

/** JSON.stringify of one value: non-finite numbers are null, as JSON has no NaN. */
function valueJson(v: ReadingValue): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return JSON.stringify(v) ?? 'null';
}

export function seriesJson(series: readonly Series[]): string {
  let out = '{"series":[';
  for (let i = 0; i < series.length; i++) {
    const s = series[i]!;
    if (i > 0) out += ',';
    out += `{"dataSourceId":${JSON.stringify(s.dataSourceId)},"metric":${JSON.stringify(s.metric)},"points":[`;
    const points = s.points;
    for (let j = 0; j < points.length; j++) {
      const [ts, v] = points[j]!;
      out += `${j > 0 ? ',' : ''}["${isoTime(ts)}",${valueJson(v)}]`;
    }
    out += ']}';
  }
  return `${out}]}`;
}
