import { describe, expect, it } from 'vitest';
import type { ReadingValue } from '../readings.ts';
import { appendStaged, newestStagedRow, type StagedColumns, stagedRows } from './sqlite-readings-staged.ts';

const point = (ts: number, value: ReadingValue) => ({ bucketId: 'b', dataSourceId: 's', metric: 'm', ts, value });

describe('staged columns', () => {
  it('keep the last write of a ts, every value kind, ascending', () => {
    const cols: StagedColumns = { ts: [], num: [], kind: [], txt: null };
    for (const [ts, v] of [[30, 1.5], [10, 'a'], [20, true], [10, 'b'], [40, false], [30, 2]] as [number, ReadingValue][]) {
      appendStaged(cols, point(ts, v));
    }
    expect(stagedRows(cols, 10, 40)).toEqual([
      { ts: 10, num: null, txt: 'b', kind: 2 },
      { ts: 20, num: 1, txt: null, kind: 1 },
      { ts: 30, num: 2, txt: null, kind: 0 },
    ]);
    expect(stagedRows(cols, 50, 60)).toEqual([]);
    expect(newestStagedRow(cols)).toEqual({ ts: 40, num: 0, txt: null, kind: 1 });
    appendStaged(cols, point(40, 'late'));
    expect(newestStagedRow(cols)).toEqual({ ts: 40, num: null, txt: 'late', kind: 2 });
    expect(newestStagedRow({ ts: [], num: [], kind: [], txt: null })).toBeUndefined();
  });
});
