import { describe, expect, it } from 'vitest';
import { parseCsvBatch, parseNdjsonBatch } from './batch-import-parsers.ts';
import { validateReading } from './reading-input.ts';

describe('NDJSON batch', () => {
  it('shapes lines and reports bad ones by line number', () => {
    const text = [
      '{"bucketId":"b1","dataSourceId":"d1","values":{"t":1},"timestamp":5}',
      '',
      '{not json',
      '{"bucketId":"b2","dataSourceId":"d1","values":{"t":1}}',
      '[1]',
      '{"bucketId":"b1","values":{"t":1}}',
      '{"bucketId":"b1","dataSourceId":"d2","values":"whatever"}',
      '',
    ].join('\n');
    const batch = parseNdjsonBatch(text);
    expect(batch.bucketId).toBe('b1');
    expect(batch.readings).toEqual([
      { line: 1, dataSourceId: 'd1', values: { t: 1 }, timestamp: 5 },
      { line: 7, dataSourceId: 'd2', values: 'whatever' },
    ]);
    expect(batch.errors.map((e) => [e.line, e.code])).toEqual([
      [3, 'invalid_json'],
      [4, 'validation_failed'],
      [5, 'validation_failed'],
      [6, 'validation_failed'],
    ]);
  });

  it('refuses more than 10,000 readings', () => {
    const line = '{"bucketId":"b","dataSourceId":"d","values":{"t":1}}';
    expect(() => parseNdjsonBatch(Array(10_001).fill(line).join('\n'))).toThrow(
      expect.objectContaining({ code: 'payload_too_large' }),
    );
    expect(parseNdjsonBatch(Array(10_000).fill(line).join('\n')).readings).toHaveLength(10_000);
  });
});

describe('CSV batch', () => {
  it('keeps a "__proto__" column as a value, so validation refuses it instead of losing it', () => {
    const batch = parseCsvBatch('timestamp,bucketId,dataSourceId,__proto__,t\n1,b,d,1,2');
    const values = batch.readings[0]!.values;
    expect(Object.hasOwn(values as object, '__proto__')).toBe(true);
    expect(() => validateReading({ values }, 0)).toThrow(expect.objectContaining({ code: 'validation_failed' }));
  });

  it('types cells, skips empty ones and keeps line numbers', () => {
    const csv = [
      'timestamp,bucketId,dataSourceId,temperature,door,note',
      '2026-11-28T10:00:00Z,b1,d1,22.5,true,"hello, ""world"""',
      '1795860000000,b1,d2,,false,',
      ',b1,d1,1,,',
      '2026-11-28T10:00:00Z,b1,d1,1',
      '2026-11-28T10:00:00Z,b9,d1,1,,',
      '2026-11-28T10:00:00Z,b1,,1,,',
    ].join('\r\n');
    const batch = parseCsvBatch(csv);
    expect(batch.bucketId).toBe('b1');
    expect(batch.readings).toEqual([
      { line: 2, dataSourceId: 'd1', values: { temperature: 22.5, door: true, note: 'hello, "world"' }, timestamp: '2026-11-28T10:00:00Z' },
      { line: 3, dataSourceId: 'd2', values: { door: false }, timestamp: 1795860000000 },
      { line: 4, dataSourceId: 'd1', values: { temperature: 1 } },
    ]);
    expect(batch.errors.map((e) => e.line)).toEqual([5, 6, 7]);
  });

  it('refuses a wrong header or malformed CSV as a whole', () => {
    expect(() => parseCsvBatch('time,bucket,source,t\n1,b,d,1')).toThrow(expect.objectContaining({ code: 'validation_failed' }));
    expect(() => parseCsvBatch('timestamp,bucketId,dataSourceId\n1,b,d')).toThrow(expect.objectContaining({ code: 'validation_failed' }));
    expect(() => parseCsvBatch('timestamp,bucketId,dataSourceId,t\n1,b,d,"unterminated')).toThrow(
      expect.objectContaining({ code: 'validation_failed' }),
    );
    expect(() => parseCsvBatch('')).toThrow(expect.objectContaining({ code: 'validation_failed' }));
  });
});
