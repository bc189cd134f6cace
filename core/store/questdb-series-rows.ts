/**
 * Result rows of a series query → the API's series. One pass, because a 30-day hourly
 * answer is 721 rows and building per-row objects and string keys before grouping was
 * most of what dakkio spent on it.
 */
import type { Series, SeriesPointTuple } from '../readings.ts';
import type { Selection } from './questdb-selection.ts';

type Row = Record<string, unknown>;

export const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Series sorted by source then metric, each with its points in time order (a stable
 * sort, so equal timestamps keep the row order) and at most `limit` of them; rows that
 * `pointOf` maps to undefined are left out. Consecutive rows of one series reuse the
 * last lookup, and points already in order (every query here returns them so) are not
 * re-sorted.
 */
export function groupSeries(
  rows: readonly Row[],
  sel: Selection,
  pointOf: (r: Row) => SeriesPointTuple | undefined,
  limit: number,
): Series[] {
  const bySeries = new Map<string, Series>();
  let lastKey: string | undefined;
  let last: Series | undefined;
  for (const r of rows) {
    const p = pointOf(r);
    if (p === undefined) continue;
    const key = sel.only ? '' : sel.keyOf(r);
    if (last === undefined || key !== lastKey) {
      last = bySeries.get(key);
      if (!last) {
        const { source, metric } = sel.only ?? sel.seriesOf(r);
        last = { dataSourceId: source, metric, points: [] };
        bySeries.set(key, last);
      }
      lastKey = key;
    }
    last.points.push(p);
  }
  const out = [...bySeries.values()];
  if (out.length > 1) {
    out.sort((a, b) =>
      a.dataSourceId === b.dataSourceId ? cmp(a.metric, b.metric) : cmp(a.dataSourceId, b.dataSourceId),
    );
  }
  for (const s of out) {
    if (!inTimeOrder(s.points)) s.points.sort((a, b) => a[0] - b[0]);
    if (s.points.length > limit) s.points.length = limit;
  }
  return out;
}

function inTimeOrder(points: readonly SeriesPointTuple[]): boolean {
  for (let i = 1; i < points.length; i++) if (points[i - 1]![0] > points[i]![0]) return false;
  return true;
}
