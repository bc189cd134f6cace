/**
 * Row types of the metadata database (users, keys, buckets, sources, rules, webhooks,
 * outbox, MQTT credentials). One Kysely schema for SQLite now and PostgreSQL later:
 * times are epoch-ms integers, booleans are 0/1 integers, JSON is TEXT.
 */
import type { Generated } from 'kysely';

export interface UsersTable {
  id: string;
  email: string;
  name: string | null;
  password_hash: string;
  created_at: number;
  /** sessions issued before this instant are dead (password change, "log out everywhere") */
  sessions_valid_after: number;
}

export interface RefreshTokensTable {
  /** sha256 of the opaque token */
  token_hash: string;
  family_id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  revoked_at: number | null;
  /** the jti of the access token issued with this refresh token (logout kills both) */
  access_jti: string;
}

export interface RevokedAccessTokensTable {
  jti: string;
  expires_at: number;
}

export interface ApiKeysTable {
  id: string;
  owner_id: string;
  name: string;
  /** first characters of the secret, shown in lists so a user can tell keys apart */
  prefix: string;
  secret_hash: string;
  /** during rotation grace, the previous secret's hash and when it dies */
  previous_secret_hash: string | null;
  previous_expires_at: number | null;
  /** JSON array of "read" | "write" */
  permissions: string;
  /** JSON array of bucket ids, or null = all buckets of the owner */
  bucket_ids: string | null;
  /** JSON array of Mosquitto-style topic rules (mosquitto-compat), or null */
  rules: string | null;
  created_at: number;
  last_used_at: number | null;
  expires_at: number | null;
  revoked_at: number | null;
}

export interface BucketsTable {
  id: string;
  owner_id: string;
  name: string;
  description: string | null;
  retention_days: number | null;
  created_at: number;
}

export interface DataSourcesTable {
  id: string;
  bucket_id: string;
  owner_id: string;
  name: string;
  description: string | null;
  /** JSON object */
  metadata: string;
  created_at: number;
  last_seen_at: number | null;
}

export interface MetadataDatabase {
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  revoked_access_tokens: RevokedAccessTokensTable;
  api_keys: ApiKeysTable;
  buckets: BucketsTable;
  data_sources: DataSourcesTable;
}

export type { Generated };
