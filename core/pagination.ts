import { z } from 'zod';
import { validationFailed } from './errors.ts';
import { isId } from './ids.ts';

/** API.md "Pagination for lists": `?limit=` (default 100, max 1000) and an opaque `?cursor=`. */
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

export interface PageRequest {
  limit?: number;
  cursor?: string | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Query-string schema for list endpoints (values arrive as strings). */
export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).optional(),
  cursor: z.string().min(1).max(200).optional(),
});

/**
 * Lists are ordered by id, and ids are time-ordered, so "the last id seen" is a
 * stable keyset cursor. It is wrapped (base64url) so clients treat it as opaque
 * and we can change its contents later without breaking them.
 */
export function encodeCursor(lastId: string): string {
  return Buffer.from(`v1:${lastId}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  const id = raw.startsWith('v1:') ? raw.slice(3) : '';
  if (!isId(id)) throw validationFailed('invalid cursor', [{ path: 'cursor', message: 'invalid cursor' }]);
  return id;
}

/** Normalises a page request: the id to start after (exclusive) and how many rows to fetch. */
export function resolvePage(page: PageRequest | undefined): { afterId: string | null; limit: number } {
  const limit = page?.limit ?? DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw validationFailed(`limit must be an integer from 1 to ${MAX_PAGE_LIMIT}`, [{ path: 'limit', message: 'out of range' }]);
  }
  const afterId = page?.cursor ? decodeCursor(page.cursor) : null;
  return { afterId, limit };
}

/**
 * Builds the page from rows fetched with `limit + 1`: the extra row only tells
 * whether another page exists, so the last page never carries a dangling cursor.
 */
export function buildPage<R extends { id: string }, T>(rows: R[], limit: number, toView: (row: R) => T): Page<T> {
  const hasMore = rows.length > limit;
  const pageRows = hasMore ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return { items: pageRows.map(toView), nextCursor: hasMore && last ? encodeCursor(last.id) : null };
}
