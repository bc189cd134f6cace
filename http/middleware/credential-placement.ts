/**
 * API.md: an API key sent as `Authorization: Bearer` or in any URL query parameter
 * is refused (401 api_key_in_wrong_place), never accepted — URLs end up in logs and
 * proxies, and a Bearer key would blur the line between device and user credentials.
 */
import type { MiddlewareHandler } from 'hono';
import { DakkioError } from '../../core/errors.ts';

const KEY_PREFIX = 'dakkio_';

export const refuseMisplacedApiKeys: MiddlewareHandler = async (c, next) => {
  const auth = c.req.header('authorization');
  if (auth && /^bearer\s+dakkio_/i.test(auth.trim())) {
    throw new DakkioError('api_key_in_wrong_place', 'send API keys in the X-API-Key header, never as a Bearer token');
  }
  const url = c.req.url;
  if (url.includes('?')) {
    for (const values of Object.values(c.req.queries())) {
      if (values.some((v) => v.startsWith(KEY_PREFIX))) {
        throw new DakkioError('api_key_in_wrong_place', 'send API keys in the X-API-Key header, never in the URL');
      }
    }
  }
  await next();
};
