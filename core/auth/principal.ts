/**
 * Who is calling, once a credential has been verified. Produced by core/auth
 * (API keys, JWT sessions) and by mosquitto-compat (legacy MQTT credentials);
 * consumed by ingest, queries, the broker's ACL hooks and the HTTP middleware.
 */
export type Permission = 'read' | 'write';

/** A Mosquitto-style topic rule (mosquitto-compat); `filter` may use %u / %c when type is "pattern". */
export interface TopicRule {
  type: 'topic' | 'pattern';
  access: 'read' | 'write' | 'readwrite' | 'deny';
  filter: string;
}

export interface ApiKeyPrincipal {
  kind: 'api-key';
  keyId: string;
  ownerId: string;
  permissions: readonly Permission[];
  /** null = every bucket of the owner, present and future */
  bucketIds: readonly string[] | null;
  /** epoch ms, null = never */
  expiresAt: number | null;
  /** extra Mosquitto-style rules for topics outside dakkio/ (null = none) */
  rules: readonly TopicRule[] | null;
  /**
   * Which secret of the key authenticated this session (a short tag of its hash,
   * never shown to clients). During a rotation grace the old and the new secret
   * have different tags; a `key.revoked` event carrying `secretFingerprint` ends
   * only the sessions with that tag.
   */
  secretFingerprint?: string;
}

export interface MqttCredentialPrincipal {
  kind: 'mqtt-credential';
  credentialId: string;
  ownerId: string;
  username: string;
  rules: readonly TopicRule[];
}

export interface UserPrincipal {
  kind: 'user';
  userId: string;
  /** the access token's jti, so logout can revoke exactly this token */
  jti: string;
  /** token expiry, epoch ms */
  expiresAt: number;
}

export type DevicePrincipal = ApiKeyPrincipal | MqttCredentialPrincipal;

/**
 * Does the key's scope allow `permission` on `bucketId`? Ownership of the bucket
 * itself is checked separately (a bucket of another owner is not_found, never forbidden).
 */
export function keyAllows(principal: ApiKeyPrincipal, bucketId: string, permission: Permission): boolean {
  if (!principal.permissions.includes(permission)) return false;
  return principal.bucketIds === null || principal.bucketIds.includes(bucketId);
}
