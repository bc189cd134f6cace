import type { ApiKeysTable, UsersTable } from '../store/metadata/tables.ts';
import type { Permission, TopicRule } from './principal.ts';

// Views are type aliases, not interfaces, so they stay assignable to Record<string, unknown> (http/deps.ts).

/** What services return about a user: never the password hash. Times are epoch ms. */
export type UserView = {
  id: string;
  email: string;
  name: string | null;
  createdAt: number;
};

/** What services return about an API key: never the secret or its hash. Times are epoch ms. */
export type ApiKeyView = {
  id: string;
  name: string;
  prefix: string;
  permissions: Permission[];
  bucketIds: string[] | null;
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number | null;
  revokedAt: number | null;
};

export function toUserView(row: Pick<UsersTable, 'id' | 'email' | 'name' | 'created_at'>): UserView {
  return { id: row.id, email: row.email, name: row.name, createdAt: Number(row.created_at) };
}

export function toApiKeyView(row: ApiKeysTable): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    permissions: JSON.parse(row.permissions) as Permission[],
    bucketIds: row.bucket_ids === null ? null : (JSON.parse(row.bucket_ids) as string[]),
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

export function parseRules(json: string | null): TopicRule[] | null {
  return json === null ? null : (JSON.parse(json) as TopicRule[]);
}
