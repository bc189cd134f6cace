import { describe, expect, it } from 'vitest';
import { isoTime } from './iso-time.ts';

const viaDate = (ms: number) => new Date(ms).toISOString();

describe('isoTime', () => {
  it('formats as Date#toISOString across days, leap days, centuries and the fast path bounds', () => {
    const cases = [
      0, 1, 999, 1000, 59_999, 86_399_999, 86_400_000, 951_782_400_000 /* 2000-02-29 */, 951_868_799_999,
      4_107_542_400_000 /* 2100-03-01 */, 4_107_456_000_000, 1_795_971_600_123, 253_402_300_799_999,
    ];
    for (const ms of cases) expect(isoTime(ms), String(ms)).toBe(viaDate(ms));
  });

  it('matches Date on a sweep of random instants, in and out of day order', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.floor(rnd() * 253_402_300_800_000);
      expect(isoTime(ms)).toBe(viaDate(ms));
    }
    // consecutive calls across the cached day
    for (let ms = 1_795_910_400_000 - 5_000; ms < 1_795_910_400_000 + 5_000; ms += 499)
      expect(isoTime(ms)).toBe(viaDate(ms));
  });

  it('leaves what the fast path does not cover to Date: negative, fractional, 5-digit years', () => {
    for (const ms of [
      -1, -86_400_001, -62_167_219_200_001, 1.5, 1_795_971_600_123.9, 253_402_300_800_000, 8.64e15, -8.64e15,
    ]) {
      expect(isoTime(ms), String(ms)).toBe(viaDate(ms));
    }
  });

  it('throws what Date throws for an invalid time', () => {
    for (const ms of [Number.NaN, Number.POSITIVE_INFINITY, 8.64e15 + 1]) expect(() => isoTime(ms)).toThrow(RangeError);
  });
});
