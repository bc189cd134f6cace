import { describe, expect, it } from 'vitest';
import type { Series } from '../core/readings.ts';
import { seriesJson } from './series-json.ts';

// the body GET /api/data sent before: c.json of the series with ISO times
const viaStringify = (series: Series[]) =>
  JSON.stringify({
    series: series.map((s) => ({
      dataSourceId: s.dataSourceId,
      metric: s.metric,
      points: s.points.map(([ts, v]) => [new Date(ts).toISOString(), v]),
    })),
  });

describe('seriesJson', () => {
  it('writes the text JSON.stringify gives, value types, escapes and odd numbers included', () => {
    const series: Series[] = [
      {
        dataSourceId: 'src_1',
        metric: 'temp',
        points: [
          [1_795_971_600_000, 21.5],
          [1_795_971_660_000, -0],
          [1_795_971_720_000, Number.NaN],
          [1_795_971_780_000, Number.POSITIVE_INFINITY],
          [1_795_971_840_000, 1e21],
          [1_795_971_900_000, 5e-324],
          [1_795_971_960_000, true],
          [1_795_972_020_000, false],
          [1_795_972_080_000, 'on "high" \\ \n \u0001 \u2028 é 🌡'],
          [1_795_972_140_000, ''],
        ],
      },
      { dataSourceId: 'src "2"', metric: 'ünïcode\t', points: [] },
      {
        dataSourceId: 'src_3',
        metric: 'm',
        points: [
          [-1, 1],
          [0, 2],
          [253_402_300_800_000, 3],
        ],
      },
    ];
    expect(seriesJson(series)).toBe(viaStringify(series));
    expect(JSON.parse(seriesJson(series))).toEqual(JSON.parse(viaStringify(series)));
  });

  it('writes an empty answer as before', () => {
    expect(seriesJson([])).toBe(viaStringify([]));
  });
});
