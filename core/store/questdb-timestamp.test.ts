import { describe, expect, it } from 'vitest';
import { parseQuestDbTimestamp } from './questdb-timestamp.ts';

// what the pg type parser did before: the text as ISO, read as UTC
const viaDateParse = (s: string) => Date.parse(`${s.replace(' ', 'T')}Z`);

describe('parseQuestDbTimestamp', () => {
  it('reads QuestDB timestamp text as Date.parse does, microseconds truncated', () => {
    const cases = [
      '2026-11-28 17:00:00.000000',
      '2026-11-28 17:00:00.123456',
      '2026-11-28 17:00:00.123999',
      '1970-01-01 00:00:00.000000',
      '1969-12-31 23:59:59.999000',
      '2000-02-29 12:34:56.789012',
      '2100-02-28 23:59:59.999999',
      '0001-01-01 00:00:00.000000',
      '0000-01-01 00:00:00.000000',
      '9999-12-31 23:59:59.999999',
    ];
    for (const s of cases) expect(parseQuestDbTimestamp(s), s).toBe(viaDateParse(s));
  });

  it('matches Date.parse on a sweep of instants written the way QuestDB writes them', () => {
    let seed = 11;
    const rnd = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.floor(rnd() * 253_402_300_800_000);
      const text = `${new Date(ms).toISOString().slice(0, 23).replace('T', ' ')}${String(Math.floor(rnd() * 1000)).padStart(3, '0')}`;
      expect(parseQuestDbTimestamp(text)).toBe(ms);
    }
  });

  it('hands anything else to Date.parse: other shapes, and dates or times that do not exist', () => {
    const cases = [
      '100-01-01 00:00:00.000000', // QuestDB's text for year 100
      '2026-11-28 17:00:00',
      '2026-11-28 17:00:00.123',
      '2026-11-28T17:00:00.000000',
      '2026-02-29 00:00:00.000000',
      '2026-02-30 00:00:00.000000',
      '2026-04-31 00:00:00.000000',
      '2026-13-01 00:00:00.000000',
      '2026-00-10 00:00:00.000000',
      '2026-11-00 00:00:00.000000',
      '2026-11-28 24:00:00.000000',
      '2026-11-28 23:60:00.000000',
      '2026-11-28 23:59:60.000000',
      '2026-11-28 17:00:00.12345x',
      '2026-1a-28 17:00:00.000000',
      '',
      'garbage',
    ];
    for (const s of cases) expect(parseQuestDbTimestamp(s), s).toBe(viaDateParse(s));
  });
});
