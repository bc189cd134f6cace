import { LRUCache } from 'lru-cache';
import type { Logger } from '../logger.ts';
import type { Permission, TopicRule } from './principal.ts';

/** What one verification needs, cached by secret hash. Time checks run on every verify, so a cached entry still expires. */
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

export interface ApiKeyCache {
  /** The cached entry; one past half its TTL is reloaded in the background, the caller still gets it. */
  get(hash: string): CacheEntry | undefined;
  /** Loads an entry from the store and caches it unless an invalidation raced the load. */
  load(hash: string): Promise<CacheEntry | undefined>;
  /** Evicts every entry that matches; a load in flight will not cache what it read. */
  forget(match: (e: CacheEntry) => boolean): void;
  clear(): void;
}

export interface ApiKeyCacheOptions {
  max: number;
  ttlMs: number;
  /** reads the stored key whose secret or previous secret has this hash */
  lookup(hash: string): Promise<CacheEntry | undefined>;
  logger?: Logger | undefined;
  /** lru-cache's clock and how long it reuses a reading (tests); performance.now and 1 s by default */
  now?: () => number;
  ttlResolutionMs?: number;
}

/**
 * The API-key verification cache. The TTL bounds how long a key's settings are reused without
 * a read of the store (revocation and changes evict at once through forget()). Without a refresh
 * every entry of a fleet that connects in waves expired together, TTL after its first connect,
 * and the next wave paid a store read per key at once: a connect storm that met the expiry cost
 * 0.23-0.36 ms of broker CPU per connect against ~0.15 (bench/RESULTS.md, "Connect storm, round
 * 7"). A key in use is now reloaded in the background once its entry is past half its TTL, so
 * staleness stays bounded by the TTL and a busy key never misses.
 */
export function createApiKeyCache(opts: ApiKeyCacheOptions): ApiKeyCache {
  // ttlResolution: lru-cache reads the clock for a TTL check at most once per this many ms and
  // arms a timer each time it does; its default of 1 ms meant a new timer for nearly every
  // lookup in a connect storm. An entry may outlive its TTL by up to 1 s more.
  const cache = new LRUCache<string, CacheEntry>({
    max: opts.max,
    ttl: opts.ttlMs,
    ttlResolution: opts.ttlResolutionMs ?? 1_000,
    ...(opts.now ? { perf: { now: opts.now } } : {}),
  });
  const refreshAfterRemainingMs = opts.ttlMs / 2;
  const refreshing = new Set<string>();
  // Bumped by every invalidation: a load that raced an invalidation must not cache what it read.
  let epoch = 0;

  async function load(hash: string): Promise<CacheEntry | undefined> {
    const startEpoch = epoch;
    const entry = await opts.lookup(hash);
    if (epoch === startEpoch) {
      if (entry) cache.set(hash, entry);
      else cache.delete(hash);
    }
    return entry;
  }

  function refresh(hash: string): void {
    refreshing.add(hash);
    load(hash)
      .catch((err) => opts.logger?.warn({ err }, 'API key cache refresh failed; the entry expires at its TTL'))
      .finally(() => refreshing.delete(hash));
  }

  return {
    get(hash) {
      const entry = cache.get(hash);
      if (entry && !refreshing.has(hash) && cache.getRemainingTTL(hash) < refreshAfterRemainingMs) refresh(hash);
      return entry;
    },
    load,
    forget(match) {
      epoch++;
      for (const [hash, entry] of cache.entries()) if (match(entry)) cache.delete(hash);
    },
    clear() {
      epoch++;
      cache.clear();
    },
  };
}
