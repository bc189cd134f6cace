/**
 * Keyset pagination shared by the alert and webhook lists. Same shape as the
 * project-wide lists (`{limit?, cursor?}` in, `{items, nextCursor}` out); kept
 * local until core/pagination.ts lands, so switching is an import change.
 */
import { validationFailed } from '../errors.ts';

export interface PageRequest {
  limit?: number | undefined;
  cursor?: string | undefined;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

export function pageLimit(req: PageRequest | undefined): number {
  const limit = req?.limit ?? DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw validationFailed('invalid limit', [
      { path: 'limit', code: 'invalid_limit', message: `limit must be 1..${MAX_PAGE_LIMIT}` },
    ]);
  }
  return limit;
}

/** Cursors are opaque to clients: base64url of the sort key parts. */
export function encodeCursor(parts: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, shape: readonly ('string' | 'number')[]): (string | number)[] | null {
  if (cursor === undefined || cursor === '') return null;
  try {
    const parts: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parts) && parts.length === shape.length && parts.every((p, i) => typeof p === shape[i])) {
      return parts as (string | number)[];
    }
  } catch {
    // fall through to the validation error
  }
  throw validationFailed('invalid cursor', [{ path: 'cursor', code: 'invalid_cursor', message: 'malformed cursor' }]);
}

/** Given limit+1 fetched rows, trims and computes the next cursor from the last kept row. */
export function toPage<R, T>(rows: R[], limit: number, map: (row: R) => T, key: (row: R) => (string | number)[]): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept[kept.length - 1];
  return { items: kept.map(map), nextCursor: more && last !== undefined ? encodeCursor(key(last)) : null };
}
