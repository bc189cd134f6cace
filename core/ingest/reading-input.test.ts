import { describe, expect, it } from 'vitest';
import {
  parseMqttDataPayload,
  parseMqttMetricPayload,
  parseTextValue,
  postDataBatchBodySchema,
  postDataBatchEnvelopeSchema,
  postDataBodySchema,
  validateReading,
} from './reading-input.ts';

const NOW = Date.UTC(2026, 10, 28, 10);
const buf = (s: string) => Buffer.from(s, 'utf8');
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return 'no error';
};

describe('validateReading', () => {
  it('accepts numbers, booleans and strings and defaults the time to the receive time', () => {
    expect(validateReading({ values: { temperature: 22.5, door: true, state: 'open' } }, NOW)).toEqual({
      values: { temperature: 22.5, door: true, state: 'open' },
      timestamp: NOW,
    });
  });

  it('refuses a "__proto__" metric instead of silently dropping it (JSON.parse makes it an own key)', () => {
    expect(() => validateReading({ values: JSON.parse('{"__proto__": 1, "t": 2}') }, NOW)).toThrow(
      expect.objectContaining({ code: 'validation_failed' }),
    );
    expect(() => parseMqttDataPayload(Buffer.from('{"__proto__": 1, "t": 2}'), NOW)).toThrow(
      expect.objectContaining({ code: 'validation_failed' }),
    );
  });

  it('reads ISO 8601 with a zone and epoch milliseconds', () => {
    expect(validateReading({ values: { a: 1 }, timestamp: '2026-11-28T10:00:00.000Z' }, 0).timestamp).toBe(NOW);
    expect(validateReading({ values: { a: 1 }, timestamp: '2026-11-28T12:00:00+02:00' }, 0).timestamp).toBe(NOW);
    expect(validateReading({ values: { a: 1 }, timestamp: NOW }, 0).timestamp).toBe(NOW);
    expect(validateReading({ values: { a: 1 }, timestamp: NOW + 0.7 }, 0).timestamp).toBe(NOW);
  });

  it.each([
    ['no zone', '2026-11-28T10:00:00'],
    ['garbage', 'yesterday'],
    ['impossible date', '2026-02-30T10:00:00Z'],
    ['negative', -1],
    ['year 10000', 253_402_300_800_000],
    ['boolean', true],
    ['null', null],
  ])('rejects a timestamp: %s', (_, timestamp) => {
    expect(code(() => validateReading({ values: { a: 1 }, timestamp }, NOW))).toBe('validation_failed');
  });

  it('rejects NaN and infinite values, bad metric names, long strings and wrong counts', () => {
    const bad = [
      { values: { a: Number.NaN } },
      { values: { a: Number.POSITIVE_INFINITY } },
      { values: { a: null } },
      { values: { a: { nested: 1 } } },
      { values: { 'bad name': 1 } },
      { values: { ['x'.repeat(65)]: 1 } },
      { values: { a: 'x'.repeat(4097) } },
      { values: {} },
      { values: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`m${i}`, i])) },
      { values: [1, 2] },
      {},
    ];
    for (const input of bad) expect(code(() => validateReading(input, NOW)), JSON.stringify(input).slice(0, 60)).toBe('validation_failed');
    expect(validateReading({ values: { 'a.b:c-d_E9': 'x'.repeat(4096) } }, NOW).values).toBeDefined();
    expect(Object.keys(validateReading({ values: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`m${i}`, i])) }, NOW).values)).toHaveLength(100);
  });

  it('reports where the problem is', () => {
    try {
      validateReading({ values: { ok: 1, 'bad name': 2 } }, NOW);
      expect.unreachable();
    } catch (err) {
      expect((err as { details: { path: string }[] }).details[0]?.path).toContain('values');
    }
  });
});

describe('HTTP body schemas', () => {
  it('validate POST /api/data and both batch forms', () => {
    expect(postDataBodySchema.safeParse({ bucketId: 'b', dataSourceId: 'd', values: { a: 1 } }).success).toBe(true);
    expect(postDataBodySchema.safeParse({ bucketId: 'b', values: { a: 1 } }).success).toBe(false);
    const batch = { bucketId: 'b', readings: [{ dataSourceId: 'd', values: { a: 1 } }, { dataSourceId: 'd', values: 'x' }] };
    expect(postDataBatchBodySchema.safeParse(batch).success).toBe(false);
    expect(postDataBatchEnvelopeSchema.safeParse(batch).success).toBe(true);
    expect(postDataBatchEnvelopeSchema.safeParse({ bucketId: 'b', readings: [] }).success).toBe(false);
  });
});

describe('MQTT payloads', () => {
  it('parses the object, bare and array forms of .../data', () => {
    expect(parseMqttDataPayload(buf('{"values":{"t":1},"timestamp":"2026-11-28T10:00:00Z"}'), 5)).toEqual([
      { values: { t: 1 }, timestamp: NOW },
    ]);
    expect(parseMqttDataPayload(buf('{"temperature":22.5,"on":true}'), 5)).toEqual([
      { values: { temperature: 22.5, on: true }, timestamp: 5 },
    ]);
    expect(parseMqttDataPayload(buf(`{"temperature":22.5,"timestamp":${NOW}}`), 5)).toEqual([
      { values: { temperature: 22.5 }, timestamp: NOW },
    ]);
    expect(parseMqttDataPayload(buf('[{"a":1},{"values":{"b":"x"},"timestamp":7}]'), 5)).toEqual([
      { values: { a: 1 }, timestamp: 5 },
      { values: { b: 'x' }, timestamp: 7 },
    ]);
    // A metric called "values" holding a number is a bare value, not the wrapper.
    expect(parseMqttDataPayload(buf('{"values":3}'), 5)).toEqual([{ values: { values: 3 }, timestamp: 5 }]);
  });

  it('refuses bad JSON, bad readings and empty arrays with stable codes and per-index details', () => {
    expect(code(() => parseMqttDataPayload(buf('{nope'), 0))).toBe('invalid_json');
    expect(code(() => parseMqttDataPayload(Buffer.from([0xff, 0xfe]), 0))).toBe('validation_failed');
    expect(code(() => parseMqttDataPayload(buf('[]'), 0))).toBe('validation_failed');
    expect(code(() => parseMqttDataPayload(buf('22.5'), 0))).toBe('validation_failed');
    expect(code(() => parseMqttDataPayload(buf('{}'), 0))).toBe('validation_failed');
    try {
      parseMqttDataPayload(buf('[{"a":1},{"a":"x","timestamp":"soon"}]'), 0);
      expect.unreachable();
    } catch (err) {
      expect((err as { details: { index: number }[] }).details[0]?.index).toBe(1);
    }
  });

  it('parses plain-text values of .../data/<metric>', () => {
    expect(parseMqttMetricPayload('t', buf('22.5'), 9)).toEqual([{ values: { t: 22.5 }, timestamp: 9 }]);
    expect(parseMqttMetricPayload('t', buf('-1e3\n'), 9)[0]?.values).toEqual({ t: -1000 });
    expect(parseMqttMetricPayload('on', buf('true'), 9)[0]?.values).toEqual({ on: true });
    expect(parseMqttMetricPayload('on', buf('false'), 9)[0]?.values).toEqual({ on: false });
    expect(parseMqttMetricPayload('s', buf('hello world'), 9)[0]?.values).toEqual({ s: 'hello world' });
    expect(parseMqttMetricPayload('s', buf('NaN'), 9)[0]?.values).toEqual({ s: 'NaN' });
    expect(code(() => parseMqttMetricPayload('bad metric', buf('1'), 9))).toBe('validation_failed');
    expect(code(() => parseMqttMetricPayload('s', buf(''), 9))).toBe('validation_failed');
    expect(code(() => parseMqttMetricPayload('s', buf('x'.repeat(5000)), 9))).toBe('validation_failed');
  });

  it('types text values strictly', () => {
    expect(parseTextValue('12')).toBe(12);
    expect(parseTextValue('.5')).toBe(0.5);
    expect(parseTextValue('0x10')).toBe('0x10');
    expect(parseTextValue('1e999')).toBe('1e999');
    expect(parseTextValue('True')).toBe('True');
    expect(parseTextValue('')).toBe('');
  });
});
