import { unauthorized } from '../errors.ts';
import type { ApiKeyPrincipal, Permission, TopicRule } from './principal.ts';

/**
 * What one API-key verification needs, cached by secret hash (api-key-service.ts). Its time
 * checks run on every verification, so a cached entry still expires, and a rotated-away secret
 * still dies at the end of its grace.
 */
export interface CacheEntry {
  keyId: string;
  ownerId: string;
  permissions: Permission[];
  bucketIds: string[] | null;
  rules: TopicRule[] | null;
  expiresAt: number | null;
  revokedAt: number | null;
  /** the presented secret is the one rotated away; it dies at graceEndsAt */
  isPrevious: boolean;
  graceEndsAt: number | null;
  fingerprint: string;
}

/** The entry's checks at `now` (throws DakkioError unauthorized), then the principal it stands for. */
export function checkedPrincipal(entry: CacheEntry, now: number): ApiKeyPrincipal {
  if (entry.revokedAt !== null) throw unauthorized('API key revoked', 'revoked');
  if (entry.isPrevious && (entry.graceEndsAt === null || entry.graceEndsAt <= now)) {
    throw unauthorized('API key was rotated', 'revoked');
  }
  if (entry.expiresAt !== null && entry.expiresAt <= now) throw unauthorized('API key expired', 'expired');
  // A rotated-away secret is only good until its grace ends: report that as its expiry.
  const expiresAt =
    entry.isPrevious && entry.graceEndsAt !== null
      ? Math.min(entry.graceEndsAt, entry.expiresAt ?? Number.POSITIVE_INFINITY)
      : entry.expiresAt;
  return {
    kind: 'api-key',
    keyId: entry.keyId,
    ownerId: entry.ownerId,
    permissions: entry.permissions,
    bucketIds: entry.bucketIds,
    expiresAt,
    rules: entry.rules,
    secretFingerprint: entry.fingerprint,
  };
}
