/**
 * Keeps live sessions in step with their credentials: revocation, rotation,
 * rights changes and owner deletion arrive through the EventBus (DESIGN.md: http
 * never calls the broker), and long-lived publishers re-verify now and then.
 */
import { isDakkioError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Session, SessionRegistry } from './sessions.ts';
import type { BrokerDeps } from './types.ts';

/** How often a publishing session re-verifies its key (refreshes lastUsedAt, catches silent deaths). */
export const KEY_REFRESH_MS = 60_000;

export interface SessionEventsContext {
  deps: BrokerDeps;
  sessions: SessionRegistry;
  log: Logger;
  drop(session: Session, reason: string): void;
}

export function createKeyLifecycle(ctx: SessionEventsContext) {
  const { deps, sessions, log, drop } = ctx;

  const reverify = (session: Session) => {
    if (!session.secret || session.dropped) return drop(session, 'key_changed');
    deps.verifyApiKey(session.secret).then(
      (principal) => {
        session.principal = principal;
        sessions.scheduleExpiry(session, (s) => drop(s, 'expired'));
      },
      (err: unknown) => {
        if (isDakkioError(err) && err.code === 'unauthorized') return drop(session, err.credentialProblem ?? 'unauthorized');
        // a store hiccup is no reason to cut a device off; the next refresh tries again
        log.warn({ err, clientId: session.clientId }, 'could not re-verify an MQTT session key');
      },
    );
  };

  return {
    /** Off the hot path, at most once per KEY_REFRESH_MS per session. */
    refresh(session: Session) {
      const now = deps.clock.now();
      if (!session.secret || now - session.lastVerifiedAt < KEY_REFRESH_MS) return;
      session.lastVerifiedAt = now;
      reverify(session);
    },

    /** Subscribes to the credential events; returns the unsubscribers. */
    subscribe(): (() => void)[] {
      return [
        deps.events.subscribe('key.revoked', (e) => {
          for (const s of sessions.byKey(e.keyId)) {
            // a rotated-away secret ends alone; sessions on the new secret stay
            const fp = s.principal?.kind === 'api-key' ? s.principal.secretFingerprint : undefined;
            if (e.secretFingerprint === undefined || fp === undefined || fp === e.secretFingerprint) drop(s, 'revoked');
          }
        }),
        // deferred so the auth service has dropped its cached verification first
        deps.events.subscribe('key.changed', (e) => {
          setImmediate(() => {
            for (const s of sessions.byKey(e.keyId)) reverify(s);
          });
        }),
        deps.events.subscribe('owner.deleted', (e) => {
          for (const s of sessions.byOwner(e.ownerId)) drop(s, 'owner_deleted');
        }),
        deps.events.subscribe('mqtt-credential.changed', (e) => {
          for (const s of sessions.byKey(e.credentialId)) drop(s, 'credential_changed');
        }),
      ];
    },
  };
}
