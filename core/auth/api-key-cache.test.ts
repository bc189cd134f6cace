import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.ts';
import { type CacheEntry, createApiKeyCache } from './api-key-cache.ts';

const TTL = 30_000;

function entry(keyId: string, revokedAt: number | null = null): CacheEntry {
  return {
    keyId,
    ownerId: 'o1',
    permissions: ['write'],
    bucketIds: null,
    rules: null,
    expiresAt: null,
    revokedAt,
    isPrevious: false,
    graceEndsAt: null,
    fingerprint: 'f',
  };
}

/** A cache on a hand-moved clock over a store of one key, counting the store's reads. */
function setup() {
  let t = 1_000;
  const store = new Map<string, CacheEntry>([['h1', entry('k1')]]);
  const reads: string[] = [];
  const cache = createApiKeyCache({
    max: 100,
    ttlMs: TTL,
    ttlResolutionMs: 0,
    now: () => t,
    lookup: async (hash) => {
      reads.push(hash);
      return store.get(hash);
    },
  });
  const settle = () => new Promise((r) => setImmediate(r));
  return { cache, store, reads, settle, advance: (ms: number) => (t += ms) };
}

describe('API key cache', () => {
  it('keeps a key in use cached across many TTLs: it is reloaded in the background, never missed', async () => {
    const { cache, reads, settle, advance } = setup();
    await cache.load('h1');
    let misses = 0;
    // a device fleet that reconnects every 0.4 TTL for 10 TTLs
    for (let i = 0; i < 25; i++) {
      advance(0.4 * TTL);
      if (!cache.get('h1')) {
        misses++;
        await cache.load('h1');
      }
      await settle();
    }
    expect(misses).toBe(0);
    // one read per refresh, about one every half TTL or more, not one per use
    expect(reads.length).toBeGreaterThan(5);
    expect(reads.length).toBeLessThan(25);
  });

  it('returns the cached entry while the reload runs, then the reloaded one, with one read for many hits', async () => {
    const { cache, store, reads, settle, advance } = setup();
    await cache.load('h1');
    store.set('h1', entry('k1', 5));
    advance(0.6 * TTL);
    for (let i = 0; i < 100; i++) expect(cache.get('h1')?.revokedAt).toBeNull();
    await settle();
    expect(reads).toEqual(['h1', 'h1']);
    expect(cache.get('h1')?.revokedAt).toBe(5);
  });

  it('does not reload an entry in its first half TTL, and lets an unused one expire', async () => {
    const { cache, reads, settle, advance } = setup();
    await cache.load('h1');
    advance(0.4 * TTL);
    cache.get('h1');
    await settle();
    expect(reads).toHaveLength(1);
    advance(TTL);
    expect(cache.get('h1')).toBeUndefined();
  });

  it('drops an entry whose key is gone from the store at its reload', async () => {
    const { cache, store, settle, advance } = setup();
    await cache.load('h1');
    store.delete('h1');
    advance(0.6 * TTL);
    expect(cache.get('h1')?.keyId).toBe('k1');
    await settle();
    expect(cache.get('h1')).toBeUndefined();
  });

  it('does not cache a reload that raced an invalidation', async () => {
    const { cache, settle, advance } = setup();
    await cache.load('h1');
    advance(0.6 * TTL);
    cache.get('h1'); // starts the reload
    cache.forget((e) => e.keyId === 'k1'); // e.g. revoked while the reload reads
    await settle();
    expect(cache.get('h1')).toBeUndefined();
  });

  it('keeps the entry until its TTL when a reload fails', async () => {
    let t = 1_000; // not 0: lru-cache reads a start time of 0 as "no TTL"
    let fail = false;
    const warnings: string[] = [];
    const cache = createApiKeyCache({
      max: 10,
      ttlMs: TTL,
      ttlResolutionMs: 0,
      now: () => t,
      lookup: async () => {
        if (fail) throw new Error('store down');
        return entry('k1');
      },
      logger: { ...silentLogger, warn: (_o: object, m?: string) => void warnings.push(m ?? '') },
    });
    await cache.load('h1');
    fail = true;
    t += 0.6 * TTL;
    expect(cache.get('h1')?.keyId).toBe('k1');
    await new Promise((r) => setImmediate(r));
    expect(warnings).toHaveLength(1);
    expect(cache.get('h1')?.keyId).toBe('k1');
    t += 0.5 * TTL;
    expect(cache.get('h1')).toBeUndefined();
  });
});
