/**
 * Reads across both parts of the SQLite readings store without merging first:
 * rows still in staging (mirrored in memory by the writer) are laid over rows of
 * the indexed table, a staged row winning over a merged one with the same
 * (series, ts) — the same "last write wins" the merge itself applies.
 */
import type { AggregateFunction, AggregateQuery, ReadingValue, SeriesPointTuple } from '../readings.ts';
import type { ReadingQueries } from './sqlite-readings-queries.ts';
import { decodeValue, KIND_STRING } from './sqlite-readings-schema.ts';

export interface StoredRow {
  ts: number;
  num: number | null;
  txt: string | null;
  kind: number;
}

/** Both inputs ascending by ts; `staged` has unique ts. Returns at most `limit` rows, ascending. */
export function overlayRows(main: readonly StoredRow[], staged: readonly StoredRow[], limit: number): StoredRow[] {
  const out: StoredRow[] = [];
  let i = 0;
  let j = 0;
  while (out.length < limit && (i < main.length || j < staged.length)) {
    const m = main[i];
    const s = staged[j];
    if (s === undefined || (m !== undefined && m.ts < s.ts)) {
      out.push(m!);
      i++;
    } else {
      if (m !== undefined && m.ts === s.ts) i++;
      out.push(s);
      j++;
    }
  }
  return out;
}

/** One bucket's aggregate state: what SQL returned for merged rows, then staged rows folded in. */
export interface BucketPartial {
  sum: number;
  /** values counted by count (all) */
  count: number;
  /** numeric values (numbers and booleans) */
  numeric: number;
  min: number;
  max: number;
  first: StoredRow | null;
  last: StoredRow | null;
}

export const emptyPartial = (): BucketPartial => ({
  sum: 0,
  count: 0,
  numeric: 0,
  min: Number.POSITIVE_INFINITY,
  max: Number.NEGATIVE_INFINITY,
  first: null,
  last: null,
});

export function foldRow(p: BucketPartial, r: StoredRow): void {
  p.count++;
  if (r.kind !== KIND_STRING && r.num !== null) {
    p.numeric++;
    p.sum += r.num;
    if (r.num < p.min) p.min = r.num;
    if (r.num > p.max) p.max = r.num;
  }
  if (!p.first || r.ts < p.first.ts) p.first = r;
  if (!p.last || r.ts > p.last.ts) p.last = r;
}

export function finish(fn: AggregateFunction, p: BucketPartial): ReadingValue | null {
  switch (fn) {
    case 'count':
      return p.count > 0 ? p.count : null;
    case 'first':
    case 'last': {
      const r = fn === 'first' ? p.first : p.last;
      return r ? decodeValue(r.num, r.txt, r.kind) : null;
    }
    default:
      if (p.numeric === 0) return null;
      if (fn === 'avg') return p.sum / p.numeric;
      if (fn === 'sum') return p.sum;
      return fn === 'min' ? p.min : p.max;
  }
}

/** Partials keyed by bucket start → points ascending, at most `limit`. */
export function finishAll(fn: AggregateFunction, partials: Map<number, BucketPartial>, limit: number): SeriesPointTuple[] {
  const points: SeriesPointTuple[] = [];
  for (const b of [...partials.keys()].sort((x, y) => x - y)) {
    const v = finish(fn, partials.get(b)!);
    if (v !== null) points.push([b, v]);
    if (points.length >= limit) break;
  }
  return points;
}

/** Aggregate of one series whose range holds staged rows: SQL partials of merged rows, staged rows folded in. */
export function aggregateWithStaged(
  q: ReadingQueries,
  query: AggregateQuery,
  sid: number,
  staged: readonly StoredRow[],
): SeriesPointTuple[] {
  const params = {
    sid,
    from: query.from,
    to: query.to,
    iv: query.intervalMs,
    ex: JSON.stringify(staged.map((r) => r.ts)),
  };
  const partials = new Map<number, BucketPartial>();
  const partialOf = (b: number) => {
    let p = partials.get(b);
    if (!p) {
      p = emptyPartial();
      partials.set(b, p);
    }
    return p;
  };
  if (query.fn === 'first' || query.fn === 'last') {
    const stmt = query.fn === 'first' ? q.partialFirst : q.partialLast;
    for (const r of stmt.all(params)) foldRow(partialOf(r.b), r);
  } else {
    for (const r of q.partialNumeric.all(params)) {
      const p = partialOf(r.b);
      p.count = r.n;
      p.numeric = r.cn;
      p.sum = r.s ?? 0;
      p.min = r.mn ?? Number.POSITIVE_INFINITY;
      p.max = r.mx ?? Number.NEGATIVE_INFINITY;
    }
  }
  for (const r of staged) foldRow(partialOf(r.ts - (r.ts % query.intervalMs)), r);
  return finishAll(query.fn, partials, query.limitPerSeries);
}
