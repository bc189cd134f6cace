/**
 * Who is behind every live MQTT connection: the principal it authenticated as,
 * indexed by client id (takeover rule) and by key (revocation). Expiry timers live
 * here so a key's sessions end when the key does.
 */
import type { DevicePrincipal } from '../core/auth/principal.ts';
import type { Clock } from '../core/clock.ts';

/** The part of an Aedes client a session needs: closing it. */
export interface SessionConnection {
  close(cb?: () => void): void;
}

export interface Session {
  readonly clientId: string;
  readonly connection: SessionConnection;
  /** null = anonymous (only when allowAnonymous) */
  principal: DevicePrincipal | null;
  /** Kept in memory only, to re-verify when the key changes; never logged. */
  readonly secret: string | undefined;
  readonly ip: string;
  /** clock ms of the last verifyApiKey for this session (refreshes the key's lastUsedAt) */
  lastVerifiedAt: number;
  /** set once the session is being dropped: its will is not published and its publishes are refused */
  dropped: boolean;
  /**
   * buckets this session was granted a subscription in (never shrinks until the session ends);
   * undefined until its first one: most devices only publish, and a Set per CONNECT was garbage
   */
  watched: Set<string> | undefined;
  expiryTimer?: NodeJS.Timeout | undefined;
}

export const ownerOf = (principal: DevicePrincipal | null): string | null => principal?.ownerId ?? null;
export const keyOf = (principal: DevicePrincipal | null): string | null =>
  principal?.kind === 'api-key'
    ? principal.keyId
    : principal?.kind === 'mqtt-credential'
      ? principal.credentialId
      : null;

// setTimeout overflows past 2^31-1 ms (~24.8 days); longer expiries are re-armed
const MAX_TIMER_MS = 2_147_483_647;

export interface SessionRegistry {
  /** The live (or connecting) session holding this client id. */
  byClientId(clientId: string): Session | undefined;
  add(session: Session): void;
  remove(session: Session): void;
  /** Sessions that authenticated with this API key / MQTT credential id. */
  byKey(keyId: string): Session[];
  byOwner(ownerId: string): Session[];
  all(): Iterable<Session>;
  /** Record a granted subscription under dakkio/<bucketId>/, so live forwarding knows someone listens. */
  watch(session: Session, bucketId: string): void;
  /** Does any live session hold a subscription in this bucket? (over-approximates after UNSUBSCRIBE) */
  hasWatchers(bucketId: string): boolean;
  /** (Re)arm the expiry timer from session.principal.expiresAt. */
  scheduleExpiry(session: Session, onExpired: (session: Session) => void): void;
  clear(): void;
}

export function createSessionRegistry(clock: Clock): SessionRegistry {
  const byClient = new Map<string, Session>();
  // one key per device is the common case: a key's single session is stored as it is, and a
  // Set is made only when a second session shares the key (one allocation less per CONNECT)
  const byKey = new Map<string, Session | Set<Session>>();
  const sessions = new Set<Session>();
  const watchers = new Map<string, number>();

  const indexKey = (session: Session) => keyOf(session.principal);

  return {
    byClientId: (clientId) => byClient.get(clientId),
    add(session) {
      sessions.add(session);
      byClient.set(session.clientId, session);
      const key = indexKey(session);
      if (key) {
        const held = byKey.get(key);
        if (held === undefined || held === session) byKey.set(key, session);
        else if (held instanceof Set) held.add(session);
        else byKey.set(key, new Set([held, session]));
      }
    },
    remove(session) {
      if (!sessions.delete(session)) return;
      clearTimeout(session.expiryTimer);
      if (session.watched) {
        for (const bucketId of session.watched) {
          const n = (watchers.get(bucketId) ?? 1) - 1;
          if (n <= 0) watchers.delete(bucketId);
          else watchers.set(bucketId, n);
        }
        session.watched.clear();
      }
      // a same-owner takeover already replaced this entry with the new session
      if (byClient.get(session.clientId) === session) byClient.delete(session.clientId);
      const key = indexKey(session);
      const held = key ? byKey.get(key) : undefined;
      if (!key || held === undefined) return;
      if (held === session) byKey.delete(key);
      else if (held instanceof Set) {
        held.delete(session);
        if (held.size === 1) byKey.set(key, held.values().next().value as Session);
      }
    },
    byKey: (keyId) => {
      const held = byKey.get(keyId);
      return held === undefined ? [] : held instanceof Set ? [...held] : [held];
    },
    watch(session, bucketId) {
      if (!sessions.has(session) || session.watched?.has(bucketId)) return;
      session.watched ??= new Set();
      session.watched.add(bucketId);
      watchers.set(bucketId, (watchers.get(bucketId) ?? 0) + 1);
    },
    hasWatchers: (bucketId) => watchers.has(bucketId),
    byOwner: (ownerId) => [...sessions].filter((s) => ownerOf(s.principal) === ownerId),
    all: () => sessions,
    scheduleExpiry(session, onExpired) {
      clearTimeout(session.expiryTimer);
      session.expiryTimer = undefined;
      const p = session.principal;
      if (p?.kind !== 'api-key' || p.expiresAt === null) return;
      const expiresAt = p.expiresAt;
      const arm = () => {
        const left = expiresAt - clock.now();
        if (left <= 0) {
          onExpired(session);
          return;
        }
        session.expiryTimer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
        session.expiryTimer.unref();
      };
      arm();
    },
    clear() {
      for (const s of sessions) clearTimeout(s.expiryTimer);
      sessions.clear();
      watchers.clear();
      byClient.clear();
      byKey.clear();
    },
  };
}
