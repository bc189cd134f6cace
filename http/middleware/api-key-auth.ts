import type { MiddlewareHandler } from 'hono';
import type { ApiKeyPrincipal } from '../../core/auth/principal.ts';
import { DakkioError } from '../../core/errors.ts';
import type { HttpEnv } from '../http-env.ts';

/** Device and data-API authentication: `X-API-Key: dakkio_...` only (API.md, Authentication). */
export function createApiKeyAuth(verify: (secret: string) => Promise<ApiKeyPrincipal>): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    const secret = c.req.header('x-api-key');
    if (!secret)
      throw new DakkioError('unauthorized', 'X-API-Key header required', {
        credentialProblem: 'missing',
      });
    c.set('apiKey', await verify(secret.trim()));
    return next();
  };
}
