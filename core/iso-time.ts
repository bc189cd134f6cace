/**
 * `new Date(ms).toISOString()` without a Date per call, for answers that render
 * hundreds of timestamps (a 30-day hourly aggregate is 721). Same output, string for
 * string: the fast path covers integer ms from 1970 to the end of 9999 (what every
 * reading has); anything else — negative, fractional, 5-digit or signed years,
 * NaN (RangeError) — goes to Date itself.
 */

const DAY_MS = 86_400_000;
/** 10000-01-01T00:00:00.000Z: from here toISOString writes a signed 6-digit year */
const FAST_END_MS = 253_402_300_800_000;

const pad2 = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : `${i}`));
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/** The "YYYY-MM-DDT" of the last day formatted: consecutive points nearly always share it. */
let cachedDay = -1;
let cachedPrefix = '';

/** Civil date of a day number since 1970-01-01 (H. Hinnant's days_from_civil, inverted), days >= 0. */
function dayPrefix(day: number): string {
  const z = day + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${y}-${pad2[m]}-${pad2[d]}T`;
}

export function isoTime(ms: number): string {
  if (!(ms >= 0 && ms < FAST_END_MS) || Math.floor(ms) !== ms) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    cachedPrefix = dayPrefix(day);
    cachedDay = day;
  }
  let rest = ms - day * DAY_MS;
  const milli = rest % 1000;
  rest = (rest - milli) / 1000;
  const sec = rest % 60;
  rest = (rest - sec) / 60;
  const min = rest % 60;
  const hour = (rest - min) / 60;
  return `${cachedPrefix}${pad2[hour]}:${pad2[min]}:${pad2[sec]}.${pad3(milli)}Z`;
}
