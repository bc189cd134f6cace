/**
 * JWT authentication for the management API: `Authorization: Bearer <jwt>` or the
 * dashboard's `__Host-dakkio_session` cookie (a Bearer header wins). Cookie-borne
 * requests with unsafe methods must prove they come from our own origin: Hono's
 * csrf() middleware doesn't look at JSON requests, so we check Sec-Fetch-Site /
 * Origin and insist on application/json ourselves (API.md, Browser sessions).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { UserPrincipal } from '../../core/auth/principal.ts';
import { DakkioError } from '../../core/errors.ts';
import type { HttpEnv } from '../http-env.ts';

export const SESSION_COOKIE = '__Host-dakkio_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface SessionAuthOptions {
  verifyAccessToken(token: string): Promise<UserPrincipal>;
  publicOrigin: string | undefined;
}

export function createSessionAuth(opts: SessionAuthOptions): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (header) {
      const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
      if (!m) throw new DakkioError('unauthorized', 'Authorization must be "Bearer <token>"');
      c.set('user', await opts.verifyAccessToken(m[1]!));
      return next();
    }
    const cookie = getCookie(c, SESSION_COOKIE);
    if (!cookie) throw new DakkioError('unauthorized', 'authentication required');
    if (!SAFE_METHODS.has(c.req.method)) checkCookieRequest(c, opts.publicOrigin);
    c.set('user', await opts.verifyAccessToken(cookie));
    c.set('viaCookie', true);
    return next();
  };
}

function checkCookieRequest(c: Context, publicOrigin: string | undefined): void {
  const site = c.req.header('sec-fetch-site');
  const origin = c.req.header('origin');
  const sameOrigin = site === 'same-origin' || (publicOrigin !== undefined && origin === publicOrigin);
  if (!sameOrigin) throw new DakkioError('csrf_rejected', 'cross-site request refused');
  const type = c.req.header('content-type');
  // A DELETE without a body has no content type to check; anything carrying a body must be JSON.
  if (type !== undefined && !/^application\/json\b/i.test(type)) {
    throw new DakkioError('unsupported_media_type', 'Content-Type must be application/json');
  }
  if (type === undefined && c.req.method !== 'DELETE') {
    throw new DakkioError('unsupported_media_type', 'Content-Type must be application/json');
  }
}
