/**
 * Keyset pagination for the time-ordered lists (alert events, webhook deliveries),
 * whose cursor is (time, id) rather than the id-only cursor of core/pagination.ts.
 * Same request/response shape and limits as every other list.
 */
import { validationFailed } from '../errors.ts';
import { type Page, type PageRequest, resolvePage } from '../pagination.ts';

export type { Page, PageRequest };

/** The limit of a page request (validated like every other list). */
export function pageLimit(req: PageRequest | undefined): number {
  return resolvePage({ limit: req?.limit }).limit;
}

export function encodeTimeCursor(at: number, id: string): string {
  return Buffer.from(`t1:${at}:${id}`, 'utf8').toString('base64url');
}

export function decodeTimeCursor(cursor: string | null | undefined): { at: number; id: string } | null {
  if (!cursor) return null;
  const m = /^t1:(-?\d{1,16}):([0-9a-f]{24})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw validationFailed('invalid cursor', [{ path: 'cursor', code: 'invalid_cursor', message: 'invalid cursor' }]);
  return { at: Number(m[1]), id: m[2] as string };
}

/** Given limit+1 fetched rows (newest first), trims and computes the next cursor. */
export function toTimePage<R extends { id: string }, T>(rows: R[], limit: number, at: (row: R) => number, map: (row: R) => T): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept[kept.length - 1];
  return { items: kept.map(map), nextCursor: more && last !== undefined ? encodeTimeCursor(at(last), last.id) : null };
}
