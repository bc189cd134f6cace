import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.ts';
import { conflict, notFound, unauthorized, validationFailed } from '../errors.ts';
import type { IdGenerator } from '../ids.ts';
import type { Logger } from '../logger.ts';
import { buildPage, type Page, type PageRequest, resolvePage } from '../pagination.ts';
import type { EventBus } from '../ports/event-bus.ts';
import { createApiKeyByHash } from '../store/metadata/api-key-by-hash.ts';
import type { MetadataDb } from '../store/metadata/sqlite-metadata-db.ts';
import type { ApiKeysTable } from '../store/metadata/tables.ts';
import {
  apiKeyDisplayPrefix,
  generateApiKeySecret,
  hashApiKeySecret,
  isWellFormedApiKey,
  secretFingerprint,
} from './api-key-format.ts';
import { createLastUsedRecorder } from './api-key-last-used.ts';
import type { ApiKeyPrincipal, Permission, TopicRule } from './principal.ts';
import { parseRules, toApiKeyView, type ApiKeyView } from './views.ts';

export { looksLikeApiKey } from './api-key-format.ts';

export interface ApiKeyServiceOptions {
  db: MetadataDb;
  clock: Clock;
  ids: IdGenerator;
  events: EventBus;
  /** how often buffered lastUsedAt values are written (default 60 s: at most one write per key per minute) */
  lastUsedFlushMs?: number;
  /** verification cache bounds (defaults 10,000 entries, 30 s) */
  cacheMax?: number;
  cacheTtlMs?: number;
  logger?: Logger;
}

export interface CreateApiKeyFields {
  name: string;
  permissions: Permission[];
  bucketIds?: string[] | null;
  /** epoch ms */
  expiresAt?: number | null;
  rules?: TopicRule[] | null;
}

export interface ApiKeyService {
  create(ownerId: string, input: CreateApiKeyFields): Promise<{ key: ApiKeyView; secret: string }>;
  list(ownerId: string, page: PageRequest): Promise<Page<ApiKeyView>>;
  get(ownerId: string, keyId: string): Promise<ApiKeyView>;
  revoke(ownerId: string, keyId: string): Promise<void>;
  rotate(ownerId: string, keyId: string, opts?: { graceSeconds?: number }): Promise<{ key: ApiKeyView; secret: string }>;
  verify(secret: string): Promise<ApiKeyPrincipal>;
  countByOwner(ownerId: string): Promise<number>;
  /** Writes buffered lastUsedAt values now (close() does too). */
  flushLastUsed(): Promise<void>;
  close(): Promise<void>;
}

/** What one verification needs, cached by secret hash. Time checks run on every verify, so a cached entry still expires. */
interface CacheEntry {
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

const orderPermissions = (p: readonly Permission[]): Permission[] =>
  (['read', 'write'] as const).filter((x) => p.includes(x));

export function createApiKeyService(opts: ApiKeyServiceOptions): ApiKeyService {
  const { db, clock, ids, events } = opts;
  // ttlResolution: lru-cache reads the clock for a TTL check at most once per this many ms and
  // arms a timer each time it does; its default of 1 ms meant a new timer for nearly every
  // lookup in a connect storm. An entry may outlive its TTL by up to 1 s more: the TTL only
  // bounds how long a key's settings are reused, revocation and changes evict (forget()), and
  // expiry is checked against the clock on every verify.
  const cache = new LRUCache<string, CacheEntry>({
    max: opts.cacheMax ?? 10_000,
    ttl: opts.cacheTtlMs ?? 30_000,
    ttlResolution: 1_000,
  });
  // Bumped by every invalidation: a lookup that raced an invalidation must not cache what it read.
  let epoch = 0;
  // a cache miss's lookup: a prepared statement on SQLite (see api-key-by-hash.ts for why)
  const byHash = createApiKeyByHash(db);
  const lastUsed = createLastUsedRecorder({ db, flushMs: opts.lastUsedFlushMs ?? 60_000, logger: opts.logger });
  const graceTimers = new Set<NodeJS.Timeout>();
  let closed = false;

  function forget(match: (e: CacheEntry) => boolean): void {
    epoch++;
    for (const [hash, entry] of cache.entries()) if (match(entry)) cache.delete(hash);
  }
  const unsubscribe = [
    events.subscribe('key.revoked', (e) => forget((x) => x.keyId === e.keyId)),
    events.subscribe('key.changed', (e) => forget((x) => x.keyId === e.keyId)),
    events.subscribe('owner.deleted', (e) => forget((x) => x.ownerId === e.ownerId)),
  ];

  async function ownedRow(ownerId: string, keyId: string): Promise<ApiKeysTable> {
    const row = await db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', keyId)
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
    if (!row) throw notFound('API key');
    return row;
  }

  async function checkBuckets(ownerId: string, bucketIds: string[]): Promise<void> {
    const unique = [...new Set(bucketIds)];
    const found = await db
      .selectFrom('buckets')
      .select('id')
      .where('owner_id', '=', ownerId)
      .where('id', 'in', unique)
      .execute();
    const have = new Set(found.map((r) => r.id));
    const details = bucketIds.flatMap((id, i) => (have.has(id) ? [] : [{ path: `bucketIds.${i}`, message: 'unknown bucket' }]));
    if (details.length > 0) throw validationFailed('bucketIds contains unknown buckets', details);
  }

  /** Ends the sessions of a rotated-away secret, now or when its grace is over. */
  function scheduleSecretDeath(ownerId: string, keyId: string, oldHash: string, delayMs: number): void {
    const publish = () =>
      events.publish({ type: 'key.revoked', keyId, ownerId, secretFingerprint: secretFingerprint(oldHash) });
    if (delayMs <= 0) {
      void publish();
      return;
    }
    const t = setTimeout(() => {
      graceTimers.delete(t);
      forget((x) => x.keyId === keyId);
      void publish();
    }, delayMs);
    t.unref();
    graceTimers.add(t);
  }

  return {
    async create(ownerId, input) {
      const permissions = orderPermissions(input.permissions);
      if (permissions.length === 0) throw validationFailed('permissions must include read or write');
      const bucketIds = input.bucketIds ?? null;
      if (bucketIds !== null) await checkBuckets(ownerId, bucketIds);
      const now = clock.now();
      if (input.expiresAt != null && input.expiresAt <= now) {
        throw validationFailed('expiresAt must be in the future', [{ path: 'expiresAt', message: 'in the past' }]);
      }
      const secret = generateApiKeySecret();
      const row: ApiKeysTable = {
        id: ids(),
        owner_id: ownerId,
        name: input.name.trim(),
        prefix: apiKeyDisplayPrefix(secret),
        secret_hash: hashApiKeySecret(secret),
        previous_secret_hash: null,
        previous_expires_at: null,
        permissions: JSON.stringify(permissions),
        bucket_ids: bucketIds === null ? null : JSON.stringify([...new Set(bucketIds)]),
        rules: input.rules == null ? null : JSON.stringify(input.rules),
        created_at: now,
        last_used_at: null,
        expires_at: input.expiresAt ?? null,
        revoked_at: null,
      };
      await db.insertInto('api_keys').values(row).execute();
      return { key: toApiKeyView(row), secret };
    },

    async list(ownerId, page) {
      const { afterId, limit } = resolvePage(page);
      let q = db.selectFrom('api_keys').selectAll().where('owner_id', '=', ownerId);
      if (afterId) q = q.where('id', '>', afterId);
      const rows = await q.orderBy('id').limit(limit + 1).execute();
      return buildPage(rows, limit, (r) => ({ ...toApiKeyView(r), lastUsedAt: lastUsed.latest(r.id, r.last_used_at) }));
    },

    async get(ownerId, keyId) {
      const row = await ownedRow(ownerId, keyId);
      return { ...toApiKeyView(row), lastUsedAt: lastUsed.latest(row.id, row.last_used_at) };
    },

    async revoke(ownerId, keyId) {
      const row = await ownedRow(ownerId, keyId);
      if (row.revoked_at === null) {
        await db.updateTable('api_keys').set({ revoked_at: clock.now() }).where('id', '=', keyId).execute();
      }
      forget((x) => x.keyId === keyId);
      await events.publish({ type: 'key.revoked', keyId, ownerId });
    },

    async rotate(ownerId, keyId, rotateOpts = {}) {
      const graceSeconds = rotateOpts.graceSeconds ?? 0;
      if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > 86_400) {
        throw validationFailed('graceSeconds must be an integer from 0 to 86400', [{ path: 'graceSeconds', message: 'out of range' }]);
      }
      const row = await ownedRow(ownerId, keyId);
      if (row.revoked_at !== null) throw conflict('a revoked key cannot be rotated');
      const now = clock.now();
      const secret = generateApiKeySecret();
      const next = {
        prefix: apiKeyDisplayPrefix(secret),
        secret_hash: hashApiKeySecret(secret),
        previous_secret_hash: graceSeconds > 0 ? row.secret_hash : null,
        previous_expires_at: graceSeconds > 0 ? now + graceSeconds * 1000 : null,
      };
      await db.updateTable('api_keys').set(next).where('id', '=', keyId).execute();
      forget((x) => x.keyId === keyId);
      await events.publish({ type: 'key.changed', keyId, ownerId });
      // A secret still in grace from an earlier rotation is replaced now, so it dies at once.
      if (row.previous_secret_hash !== null) scheduleSecretDeath(ownerId, keyId, row.previous_secret_hash, 0);
      scheduleSecretDeath(ownerId, keyId, row.secret_hash, graceSeconds * 1000);
      return { key: { ...toApiKeyView({ ...row, ...next }), lastUsedAt: lastUsed.latest(row.id, row.last_used_at) }, secret };
    },

    async verify(secret) {
      if (typeof secret !== 'string') throw unauthorized('invalid API key', 'invalid');
      const hash = hashApiKeySecret(secret);
      let entry = cache.get(hash);
      if (!entry) {
        // Shape and checksum before the store: a typo or a fabricated key never reaches it.
        // A cached entry is the hash of a stored (so well-formed) secret, so a hit skips them.
        if (!isWellFormedApiKey(secret)) throw unauthorized('invalid API key', 'invalid');
        const startEpoch = epoch;
        const row = await byHash(hash);
        if (!row) throw unauthorized('invalid API key', 'invalid');
        const isPrevious = row.secret_hash !== hash;
        entry = {
          keyId: row.id,
          ownerId: row.owner_id,
          permissions: JSON.parse(row.permissions) as Permission[],
          bucketIds: row.bucket_ids === null ? null : (JSON.parse(row.bucket_ids) as string[]),
          rules: parseRules(row.rules),
          expiresAt: row.expires_at === null ? null : Number(row.expires_at),
          revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
          isPrevious,
          graceEndsAt: isPrevious && row.previous_expires_at !== null ? Number(row.previous_expires_at) : null,
          fingerprint: secretFingerprint(hash),
        };
        if (epoch === startEpoch) cache.set(hash, entry);
      }
      const now = clock.now();
      if (entry.revokedAt !== null) throw unauthorized('API key revoked', 'revoked');
      if (entry.isPrevious && (entry.graceEndsAt === null || entry.graceEndsAt <= now)) {
        throw unauthorized('API key was rotated', 'revoked');
      }
      if (entry.expiresAt !== null && entry.expiresAt <= now) throw unauthorized('API key expired', 'expired');
      lastUsed.record(entry.keyId, now);
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
    },

    async countByOwner(ownerId) {
      const r = await db
        .selectFrom('api_keys')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('owner_id', '=', ownerId)
        .where('revoked_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },

    flushLastUsed: () => lastUsed.flush(),

    async close() {
      if (closed) return;
      closed = true;
      for (const u of unsubscribe) u();
      for (const t of graceTimers) clearTimeout(t);
      graceTimers.clear();
      cache.clear();
      await lastUsed.close();
    },
  };
}
