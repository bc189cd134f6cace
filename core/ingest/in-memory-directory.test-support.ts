/** Test stand-in for the ResourceDirectory port (the real one lives over the metadata DB). */
import type { ApiKeyPrincipal, Permission } from '../auth/principal.ts';
import type { ResourceDirectory } from '../ports/resource-directory.ts';

export function createInMemoryDirectory(buckets: Record<string, { owner: string; sources: string[] }>) {
  const seen: { bucketId: string; dataSourceIds: string[]; at: number }[] = [];
  const directory: ResourceDirectory = {
    async bucketOwner(bucketId) {
      return buckets[bucketId]?.owner ?? null;
    },
    async sourceExists(bucketId, dataSourceId) {
      return buckets[bucketId]?.sources.includes(dataSourceId) ?? false;
    },
    markSourcesSeen(bucketId, dataSourceIds, at) {
      seen.push({ bucketId, dataSourceIds: [...dataSourceIds], at });
    },
  };
  return { directory, seen };
}

export function apiKey(
  ownerId: string,
  permissions: Permission[] = ['read', 'write'],
  bucketIds: string[] | null = null,
): ApiKeyPrincipal {
  return { kind: 'api-key', keyId: 'k1', ownerId, permissions, bucketIds, expiresAt: null, rules: null };
}
