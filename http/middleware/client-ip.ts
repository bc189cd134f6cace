import { getConnInfo } from '@hono/node-server/conninfo';
import type { MiddlewareHandler } from 'hono';
import type { HttpEnv } from '../http-env.ts';

/**
 * The peer address, for per-IP rate limits. Forwarded headers are not trusted:
 * anyone can set them, and trusting them would let one client dodge the limits.
 */
export const clientIp: MiddlewareHandler<HttpEnv> = async (c, next) => {
  let ip = 'unknown';
  try {
    ip = getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    // not running on the Node adapter (app.request() in tests)
  }
  c.set('clientIp', ip);
  await next();
};
