import { describe, expect, it } from 'vitest';
import { ASK_ZOD, quickBatchBody, quickTimestamp, quickValues } from './reading-fast-check.ts';
import { readingInputSchema } from './reading-input.ts';

/** Whatever the fast check accepts, zod accepts with the same output. */
function agreesWithZod(values: unknown, timestamp: unknown): 'fast' | 'zod' {
  const ts = quickTimestamp(timestamp);
  const fast = ts !== ASK_ZOD && quickValues(values);
  const parsed = readingInputSchema.safeParse({ values, timestamp });
  if (fast) {
    expect(parsed.success).toBe(true);
    expect(parsed.data!.values).toEqual(values);
    expect(Object.keys(parsed.data!.values)).toEqual(Object.keys(values as object));
    expect(parsed.data!.timestamp).toBe(ts);
  }
  return fast ? 'fast' : 'zod';
}

describe('reading fast check', () => {
  it('takes the plain valid readings without zod, with zod’s output', () => {
    expect(agreesWithZod({ temperature: 21.5 }, 1_700_000_000_000)).toBe('fast');
    expect(agreesWithZod({ a: 1, 'b.c:d-e_f': true, s: 'x'.repeat(4096) }, undefined)).toBe('fast');
    expect(agreesWithZod({ t: -0, u: false }, 1.9)).toBe('fast');
    expect(agreesWithZod(JSON.parse('{"2":1,"1":2,"z":3}'), 0)).toBe('fast');
    const hundred = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`m${i}`, i]));
    expect(agreesWithZod(hundred, 5)).toBe('fast');
  });

  it('leaves everything unusual or invalid to zod', () => {
    const cases: [unknown, unknown][] = [
      [JSON.parse('{"__proto__":1}'), undefined],
      [JSON.parse('{"__proto__":1,"a":2}'), undefined],
      [{}, undefined],
      [{ a: Number.NaN }, undefined],
      [{ a: Number.POSITIVE_INFINITY }, undefined],
      [{ a: null }, undefined],
      [{ a: {} }, undefined],
      [{ a: [1] }, undefined],
      [{ a: 'x'.repeat(4097) }, undefined],
      [{ 'bad name': 1 }, undefined],
      [{ ['x'.repeat(65)]: 1 }, undefined],
      [Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`m${i}`, i])), undefined],
      [Object.assign(Object.create(null), { a: 1 }), undefined],
      [{ a: 1, [Symbol('s')]: 2 }, undefined],
      [[1], undefined],
      [null, undefined],
      ['{"a":1}', undefined],
      [{ a: 1 }, '2024-01-01T00:00:00Z'],
      [{ a: 1 }, -1],
      [{ a: 1 }, 253_402_300_800_000],
      [{ a: 1 }, Number.NaN],
      [{ a: 1 }, null],
      [{ a: 1 }, true],
    ];
    for (const [values, ts] of cases) expect(agreesWithZod(values, ts)).toBe('zod');
  });
});

describe('batch body fast check', () => {
  const item = { dataSourceId: 'src_1', values: { t: 1 }, timestamp: 5 };
  it('passes a plainly valid body and refuses anything else', () => {
    expect(quickBatchBody({ bucketId: 'b', readings: [item, { dataSourceId: 's', values: { a: true } }] }, 10)).toBe(true);
    expect(quickBatchBody({ bucketId: 'b', readings: [] }, 10)).toBe(false);
    expect(quickBatchBody({ bucketId: 'b', readings: Array(11).fill(item) }, 10)).toBe(false);
    expect(quickBatchBody({ bucketId: '', readings: [item] }, 10)).toBe(false);
    expect(quickBatchBody({ bucketId: 'x'.repeat(65), readings: [item] }, 10)).toBe(false);
    expect(quickBatchBody({ bucketId: 'b', readings: [{ ...item, dataSourceId: '' }] }, 10)).toBe(false);
    expect(quickBatchBody({ bucketId: 'b', readings: [{ ...item, timestamp: '2024-01-01T00:00:00Z' }] }, 10)).toBe(false);
    expect(quickBatchBody({ bucketId: 'b', readings: [{ ...item, values: JSON.parse('{"__proto__":1}') }] }, 10)).toBe(false);
    expect(quickBatchBody({ bucketId: 'b', readings: [null] }, 10)).toBe(false);
    expect(quickBatchBody([item], 10)).toBe(false);
  });
});
