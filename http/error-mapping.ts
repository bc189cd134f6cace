/**
 * The one place DakkioError codes become HTTP statuses (DESIGN.md convention 1),
 * and the one error body shape of API.md: {"error": {code, message, details?}}.
 * 500s never carry a stack trace or the internal message.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { DakkioError, type ErrorCode, type ErrorDetail } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';

export const statusOf: Record<ErrorCode, ContentfulStatusCode> = {
  invalid_json: 400,
  validation_failed: 400,
  unauthorized: 401,
  api_key_in_wrong_place: 401,
  forbidden: 403,
  csrf_rejected: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  store_unavailable: 503,
  spool_full: 503,
};

export function errorBody(code: ErrorCode, message: string, details?: ErrorDetail[]) {
  return {
    error: details && details.length > 0 ? { code, message, details } : { code, message },
  };
}

export function errorResponse(c: Context, err: DakkioError): Response {
  if (err.retryAfterSeconds !== undefined)
    c.header('Retry-After', String(Math.max(1, Math.ceil(err.retryAfterSeconds))));
  if (err.code === 'unauthorized' || err.code === 'api_key_in_wrong_place') c.header('WWW-Authenticate', 'Bearer');
  return c.json(errorBody(err.code, err.message, err.details), statusOf[err.code]);
}

/** Hono's onError: known errors keep their code; anything else is logged and becomes a bare 500. */
export function createErrorHandler(logger: Logger) {
  return (err: Error, c: Context): Response => {
    if (err instanceof DakkioError) {
      if (statusOf[err.code] >= 500)
        logger.warn({ code: err.code, path: c.req.path, err: err.cause ?? err.message }, 'request failed');
      return errorResponse(c, err);
    }
    logger.error({ err, path: c.req.path, method: c.req.method }, 'unhandled error');
    return c.json(errorBody('internal', 'internal error'), 500);
  };
}
