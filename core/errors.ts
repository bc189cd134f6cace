/**
 * One error type for the whole domain. Adapters map `code` to an HTTP status
 * (http/error-mapping.ts) or an MQTT return code (broker/error-mapping.ts) in
 * exactly one place each; tests assert codes, never messages.
 */
export const errorCodes = [
  'invalid_json',
  'validation_failed',
  'unauthorized',
  'api_key_in_wrong_place',
  'forbidden',
  'csrf_rejected',
  'not_found',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'store_unavailable',
  'spool_full',
  'internal',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

/** Why a credential was refused: MQTT answers 0x04 for `invalid`/`missing` and 0x05 for the rest. */
export type CredentialProblem = 'missing' | 'invalid' | 'revoked' | 'expired';

export interface ErrorDetail {
  path?: string;
  index?: number;
  line?: number;
  code?: string;
  message: string;
}

export class DakkioError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[] | undefined;
  /** Seconds a client should wait before retrying (rate_limited, store_unavailable). */
  readonly retryAfterSeconds: number | undefined;
  readonly credentialProblem: CredentialProblem | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      details?: ErrorDetail[];
      retryAfterSeconds?: number;
      credentialProblem?: CredentialProblem;
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DakkioError';
    this.code = code;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.credentialProblem = options.credentialProblem;
  }
}

export const isDakkioError = (e: unknown): e is DakkioError => e instanceof DakkioError;

export const notFound = (what: string) => new DakkioError('not_found', `${what} not found`);
export const forbidden = (message: string) => new DakkioError('forbidden', message);
export const unauthorized = (message: string, credentialProblem: CredentialProblem = 'invalid') =>
  new DakkioError('unauthorized', message, { credentialProblem });
export const conflict = (message: string) => new DakkioError('conflict', message);
export const validationFailed = (message: string, details?: ErrorDetail[]) =>
  new DakkioError('validation_failed', message, details ? { details } : {});
