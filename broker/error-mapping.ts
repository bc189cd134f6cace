/**
 * The one place where dakkio's error codes become MQTT answers (DESIGN.md
 * convention 1). Aedes 1.x speaks MQTT 3.1.1 only, so today only the CONNACK return
 * codes are on the wire; the v5 reason codes sit next to them so an MQTT 5 listener
 * can switch over without hunting for call sites.
 */
import { type CredentialProblem, type ErrorCode, isDakkioError } from '../core/errors.ts';

/** MQTT 3.1.1 CONNACK return codes [MQTT-3.2.2.3]. */
export const ConnackCode = {
  accepted: 0,
  unacceptableProtocol: 1,
  identifierRejected: 2,
  serverUnavailable: 3,
  badUsernameOrPassword: 4,
  notAuthorized: 5,
} as const;
export type ConnackCode = (typeof ConnackCode)[keyof typeof ConnackCode];

/** SUBACK failure return code in MQTT 3.1.1 [MQTT-3.9.3]. */
export const SUBACK_FAILURE = 0x80;

/** MQTT 5 reason codes the v5 listener will need (not sent by Aedes 1.x). */
export const Mqtt5Reason = {
  identifierRejected: 0x85,
  badUsernameOrPassword: 0x86,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  packetTooLarge: 0x95,
  messageRateTooHigh: 0x96,
  quotaExceeded: 0x97,
  payloadFormatInvalid: 0x99,
  topicNameInvalid: 0x90,
  connectionRateExceeded: 0x9f,
} as const;

/** Missing or bad key → 0x04; a real key that is revoked or expired → 0x05 (API.md). */
export function connackForCredentialProblem(problem: CredentialProblem | undefined): ConnackCode {
  return problem === 'revoked' || problem === 'expired' ? ConnackCode.notAuthorized : ConnackCode.badUsernameOrPassword;
}

/** CONNACK for anything thrown while authenticating. */
export function connackForError(err: unknown): ConnackCode {
  if (isDakkioError(err)) {
    if (err.code === 'unauthorized') return connackForCredentialProblem(err.credentialProblem);
    if (err.code === 'forbidden') return ConnackCode.notAuthorized;
  }
  // store down, internal error: the device should retry later, not think its key is bad
  return ConnackCode.serverUnavailable;
}

/** The v5 reason code a rejected PUBLISH would carry in its PUBACK (MQTT 5 only). */
export function mqtt5ReasonForPublishError(code: ErrorCode): number {
  switch (code) {
    case 'invalid_json':
    case 'validation_failed':
      return Mqtt5Reason.payloadFormatInvalid;
    case 'payload_too_large':
      return Mqtt5Reason.packetTooLarge;
    case 'rate_limited':
    case 'spool_full':
      return Mqtt5Reason.quotaExceeded;
    case 'not_found':
    case 'forbidden':
    case 'unauthorized':
      return Mqtt5Reason.notAuthorized;
    default:
      return Mqtt5Reason.serverUnavailable;
  }
}

/**
 * Errors that mean "this payload is bad": acknowledged, not stored, reported on the
 * error topic. Overload (rate_limited from the pipeline, store_unavailable) is not
 * one: the PUBLISH goes unacknowledged so the device sends it again.
 */
export function isPayloadError(code: ErrorCode | string): boolean {
  return (
    code === 'invalid_json' ||
    code === 'validation_failed' ||
    code === 'not_found' ||
    code === 'payload_too_large'
  );
}

/** The JSON published on `dakkio/clients/<clientId>/errors`. */
export interface ErrorTopicMessage {
  topic: string;
  code: string;
  message: string;
  /** same shape as the HTTP error's details, when there are any */
  details?: { path?: string; index?: number; message: string }[];
}

export function errorTopicFor(clientId: string): string {
  return `dakkio/clients/${clientId}/errors`;
}
