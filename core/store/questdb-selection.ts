/**
 * The WHERE clause of a series selector, in one of two shapes (see questdb-schema.ts):
 * - named series (sources and metrics both listed, few enough) on a keyed table: the time
 *   range and `series = $k` / `series IN (…)`, answered through the series index;
 * - anything else, or a table whose old rows are not keyed yet: the time range and
 *   filters on bucket, source and metric, which QuestDB evaluates on every row in range.
 * Every value is a bind parameter; only placeholders we number ourselves are interpolated.
 */
import type { SeriesSelector } from '../readings.ts';
import { DELETED_KIND, SERIES_COLUMN, seriesKey } from './questdb-schema.ts';
import { isoParam } from './questdb-sql.ts';

type Row = Record<string, unknown>;

/**
 * Up to this many ids/metrics are matched as `(col = $a OR col = $b …)`: QuestDB 9.3
 * compiles that filter with its JIT, while `col IN ($a, $b)` over bind variables is
 * evaluated row by row without it (30-day, one-series aggregate on 10 M rows: ~560 ms
 * with IN, ~30 ms with =; see bench/RESULTS.md). Longer lists keep IN.
 */
const MAX_OR_TERMS = 32;

/**
 * Up to this many (source × metric) series are read through the `series` index
 * (`series = $k`, or `series IN (…)`, which QuestDB 9.3 runs as one index scan per key).
 * Larger selections, and selections that leave sources or metrics open, keep the filter.
 */
const MAX_INDEXED_SERIES = 64;

/** Where a query reads from: the table, and whether every row of it has its series key. */
export interface ReadTarget {
  table: string;
  /** False until questdb-migration.ts has keyed the rows of an older table. */
  keyed: boolean;
}

/** Named series of a selector, by key; null when the selector can't use the index. */
export function indexedSeries(
  sel: SeriesSelector,
  keyed: boolean,
): Map<string, { source: string; metric: string }> | null {
  const ids = sel.dataSourceIds;
  const metrics = sel.metrics;
  if (!keyed || !ids?.length || !metrics?.length || ids.length * metrics.length > MAX_INDEXED_SERIES) return null;
  const keys = new Map<string, { source: string; metric: string }>();
  for (const source of ids)
    for (const metric of metrics) keys.set(seriesKey(sel.bucketId, source, metric), { source, metric });
  return keys;
}

/**
 * WHERE clause of an indexed selection: the time range, then the keys. The key holds
 * bucket, source and metric (injectively), so those columns need no filter of their own.
 */
function indexedWhere(sel: SeriesSelector, keys: ReadonlyMap<string, unknown>, params: unknown[]): string {
  const bind = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const range = `ts >= ${bind(isoParam(sel.from))} AND ts < ${bind(isoParam(sel.to))}`;
  const list = [...keys.keys()].map(bind);
  const match = list.length === 1 ? `${SERIES_COLUMN} = ${list[0]}` : `${SERIES_COLUMN} IN (${list.join(', ')})`;
  return `${range} AND ${match} AND kind != '${DELETED_KIND}'`;
}

/** The selection's WHERE clause and the columns that name a row's series in its result. */
export interface Selection {
  where: string;
  seriesCols: string;
  seriesOf: (r: Row) => { source: string; metric: string };
  /** one string per series of a result row (cheaper than seriesOf, for grouping) */
  keyOf: (r: Row) => string;
  /** the series, when the selection names exactly one through the index: its rows need no series columns */
  only: { source: string; metric: string } | undefined;
}

export function selection(sel: SeriesSelector, keyed: boolean, params: unknown[]): Selection | null {
  const keys = indexedSeries(sel, keyed);
  if (keys) {
    return {
      where: indexedWhere(sel, keys, params),
      seriesCols: SERIES_COLUMN,
      seriesOf: (r) => keys.get(String(r[SERIES_COLUMN])) ?? { source: '', metric: '' },
      keyOf: (r) => String(r[SERIES_COLUMN]),
      only: keys.size === 1 ? [...keys.values()][0] : undefined,
    };
  }
  const where = selectorWhere(sel, params);
  if (where === null) return null;
  return {
    where,
    seriesCols: 'source, metric',
    seriesOf: (r) => ({ source: String(r.source), metric: String(r.metric) }),
    keyOf: (r) => `${r.source}\u0000${r.metric}`,
    only: undefined,
  };
}

/** Builds the WHERE clause of a selector; returns null when it can match nothing (empty id/metric lists). */
export function selectorWhere(sel: SeriesSelector, params: unknown[]): string | null {
  if (sel.dataSourceIds?.length === 0 || sel.metrics?.length === 0) return null;
  const bind = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const oneOf = (col: string, values: readonly string[]) =>
    values.length <= MAX_OR_TERMS
      ? `(${values.map((v) => `${col} = ${bind(v)}`).join(' OR ')})`
      : `${col} IN (${values.map(bind).join(', ')})`;
  // the designated timestamp first: QuestDB turns it into an interval scan of the partitions
  const parts = [`ts >= ${bind(isoParam(sel.from))}`, `ts < ${bind(isoParam(sel.to))}`];
  parts.push(`bucket = ${bind(sel.bucketId)}`, `kind != '${DELETED_KIND}'`);
  if (sel.dataSourceIds) parts.push(oneOf('source', sel.dataSourceIds));
  if (sel.metrics) parts.push(oneOf('metric', sel.metrics));
  return parts.join(' AND ');
}
