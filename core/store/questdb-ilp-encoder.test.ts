import { describe, expect, it } from 'vitest';
import { createIlpEncoder, escapeString, escapeSymbol } from './questdb-ilp-encoder.ts';

const double = (v: number) => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return b;
};

describe('ILP encoder', () => {
  it('encodes numbers and booleans as binary doubles and strings as quoted fields, timestamps in ns', () => {
    const enc = createIlpEncoder('readings');
    const out = enc.encode(
      [
        { bucketId: 'b1', dataSourceId: 's1', metric: 'temp', ts: 1_700_000_000_123, value: 21.5 },
        { bucketId: 'b1', dataSourceId: 's1', metric: 'on', ts: 0, value: true },
        { bucketId: 'b1', dataSourceId: 's1', metric: 'msg', ts: 5, value: 'a "q" \\ b\nc' },
      ],
      0,
      3,
    );
    const expected = Buffer.concat([
      Buffer.from('readings,bucket=b1,source=s1,metric=temp,series=b1/s1/temp,kind=n num==\u0010', 'latin1'),
      double(21.5),
      Buffer.from(' 1700000000123000000\n', 'latin1'),
      Buffer.from('readings,bucket=b1,source=s1,metric=on,series=b1/s1/on,kind=b num==\u0010', 'latin1'),
      double(1),
      Buffer.from(' 0000000\n', 'latin1'),
      Buffer.from('readings,bucket=b1,source=s1,metric=msg,series=b1/s1/msg,kind=s str="a \\"q\\" \\\\ b\\\nc" 5000000\n', 'utf8'),
    ]);
    expect(out.equals(expected)).toBe(true);
  });

  it('escapes symbols, encodes only the requested range and reuses its buffer across calls', () => {
    const enc = createIlpEncoder('t');
    const points = [
      { bucketId: 'b', dataSourceId: 'x', metric: 'm', ts: 1, value: 1 },
      { bucketId: 'b,1', dataSourceId: 'a b', metric: 'k=v\\', ts: 2, value: false },
    ];
    const out = enc.encode(points, 1, 2);
    const prefix = 't,bucket=b\\,1,source=a\\ b,metric=k\\=v\\\\,series=b\\,1/a\\ b/k\\=v\\\\,kind=b num==\u0010';
    expect(out.subarray(0, prefix.length).toString('latin1')).toBe(prefix);
    expect(out.readDoubleLE(prefix.length)).toBe(0);
    expect(out.subarray(prefix.length + 8).toString('latin1')).toBe(' 2000000\n');
    expect(enc.encode(points, 0, 1).toString('latin1')).toContain('t,bucket=b,source=x,metric=m,series=b/x/m,kind=n ');
  });

  it('grows its buffer for large batches and keeps every line', () => {
    const enc = createIlpEncoder('readings');
    const points = Array.from({ length: 30_000 }, (_, i) => ({
      bucketId: 'bucket',
      dataSourceId: `source-${i % 300}`,
      metric: 'temperature',
      ts: 1_700_000_000_000 + i,
      value: i,
    }));
    const out = enc.encode(points, 0, points.length);
    expect(out.length).toBeGreaterThan(1 << 20);
    let lines = 0;
    for (let i = out.indexOf(0x0a); i !== -1; i = out.indexOf(0x0a, i + 1)) lines++;
    // at least one newline per line: a binary double may itself contain the byte 0x0a
    expect(lines).toBeGreaterThanOrEqual(points.length);
    expect(out.subarray(out.length - 21).toString('latin1')).toBe(' 1700000029999000000\n');
  });

  it('escape helpers leave plain text untouched', () => {
    expect(escapeSymbol('plain-id_1')).toBe('plain-id_1');
    expect(escapeString('plain')).toBe('plain');
  });
});
