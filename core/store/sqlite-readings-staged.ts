/**
 * The in-memory mirror of one series' staged rows, as parallel columns in write
 * order: numbers stay unboxed in double arrays and no object is made per row until a
 * read asks for rows. A later write of the same ts wins, as the merge's
 * INSERT OR REPLACE ... ORDER BY seq does.
 */
import type { ReadingPoint } from '../readings.ts';
import { overlayRows, type StoredRow } from './sqlite-readings-overlay.ts';
import { KIND_BOOLEAN, KIND_NUMBER, KIND_STRING } from './sqlite-readings-schema.ts';

export interface StagedColumns {
  ts: number[];
  /** the number, 1/0 for a boolean, 0 for a string (its num is NULL) */
  num: number[];
  kind: number[];
  /** string values by row index; null until the series stages its first string */
  txt: Map<number, string> | null;
}

export function appendStaged(cols: StagedColumns, p: ReadingPoint): void {
  const v = p.value;
  cols.ts.push(p.ts);
  if (typeof v === 'number') {
    cols.num.push(v);
    cols.kind.push(KIND_NUMBER);
  } else if (typeof v === 'boolean') {
    cols.num.push(v ? 1 : 0);
    cols.kind.push(KIND_BOOLEAN);
  } else {
    cols.num.push(0);
    cols.kind.push(KIND_STRING);
    cols.txt ??= new Map();
    cols.txt.set(cols.ts.length - 1, v);
  }
}

function rowAt(cols: StagedColumns, i: number): StoredRow {
  const kind = cols.kind[i]!;
  return kind === KIND_STRING
    ? { ts: cols.ts[i]!, num: null, txt: cols.txt?.get(i) ?? '', kind }
    : { ts: cols.ts[i]!, num: cols.num[i]!, txt: null, kind };
}

/** Rows among the first `n` with from <= ts < to, ascending, one per ts (the last written). */
export function stagedRows(cols: StagedColumns, from: number, to: number, n = cols.ts.length): StoredRow[] {
  const last = new Map<number, number>();
  const { ts } = cols;
  for (let i = 0; i < n; i++) {
    const t = ts[i]!;
    if (t >= from && t < to) last.set(t, i);
  }
  const out: StoredRow[] = [];
  for (const i of last.values()) out.push(rowAt(cols, i));
  return out.sort((a, b) => a.ts - b.ts);
}

/** The row with the greatest ts (the last written of that ts). */
export function newestStagedRow(cols: StagedColumns): StoredRow | undefined {
  const { ts } = cols;
  if (ts.length === 0) return undefined;
  let best = 0;
  for (let i = 1; i < ts.length; i++) if (ts[i]! >= ts[best]!) best = i;
  return rowAt(cols, best);
}

/**
 * A series' staged rows as of one moment: its columns and how many rows they held
 * then. Columns only ever grow (a generation's are frozen; a freeze or merge swaps the
 * map that holds them, never the arrays), so a view stays true however long it is kept.
 */
export interface StagedView {
  cols: StagedColumns;
  n: number;
}

export const viewOf = (cols: StagedColumns | undefined): StagedView | undefined =>
  cols && { cols, n: cols.ts.length };

/**
 * Rows with from <= ts < to of a series' two staged parts, ascending, one per ts: the
 * generation being merged (older) and the rows staged since (newer), a newer row
 * replacing the generation's row of the same ts.
 */
export function stagedRangeOf(older: StagedView | undefined, newer: StagedView | undefined, from: number, to: number): StoredRow[] {
  const rows = newer ? stagedRows(newer.cols, from, to, newer.n) : [];
  if (!older) return rows;
  return overlayRows(stagedRows(older.cols, from, to, older.n), rows, Number.MAX_SAFE_INTEGER);
}
