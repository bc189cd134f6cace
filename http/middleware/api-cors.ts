/**
 * CORS for /api/*: hono's `cors` for preflights, and the same two headers on every other
 * answer set directly on it. hono's middleware appends `Vary: Origin` with `c.header()`
 * after the handler, which rebuilds the finished response around a ReadableStream (the
 * node adapter then streams it instead of writing the string it holds): ~1 ms of
 * dakkio's CPU per 30-day query answer, and more for larger ones.
 */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

type CorsOptions = NonNullable<Parameters<typeof cors>[0]> & { origin: string[]; credentials: false };

export function apiCors(options: CorsOptions): MiddlewareHandler {
  const preflight = cors(options);
  const allowed = options.origin;
  return async (c, next) => {
    if (c.req.method === 'OPTIONS') return preflight(c, next);
    // as hono's cors with a list of origins and no credentials or exposed headers
    const origin = c.req.header('origin') || '';
    if (allowed.includes(origin) && origin) c.res.headers.set('Access-Control-Allow-Origin', origin);
    await next();
    try {
      c.res.headers.append('Vary', 'Origin');
    } catch {
      // immutable headers (Response.redirect, a fetched Response): hono's way, which rebuilds it
      c.header('Vary', 'Origin', { append: true });
    }
  };
}
