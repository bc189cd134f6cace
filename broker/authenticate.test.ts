import type { Client } from 'aedes';
import { describe, expect, it, vi } from 'vitest';
import type { ApiKeyPrincipal } from '../core/auth/principal.ts';
import { systemClock } from '../core/clock.ts';
import { unauthorized } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import { createAuthenticate } from './authenticate.ts';
import { createBrokerCounters } from './counters.ts';
import { ConnackCode } from './error-mapping.ts';
import { createSessionRegistry } from './sessions.ts';
import { testBrokerOptions } from './testing/broker-env.ts';
import type { BrokerDeps } from './types.ts';

const SECRET = 'dakkio_abcdefghijklmnopqrstuvwxyz000000';
const principal: ApiKeyPrincipal = {
  kind: 'api-key',
  keyId: 'k1',
  ownerId: 'owner-1',
  permissions: ['write'],
  bucketIds: null,
  expiresAt: null,
  rules: null,
  secretFingerprint: 'f',
};

/** The CONNECT hook over stub key verification; `answers` records each done() in order. */
function setUp(verify: Pick<BrokerDeps, 'verifyApiKey' | 'verifyApiKeyCached'>, connectRatePerIp = 0) {
  const counters = createBrokerCounters();
  const sessions = createSessionRegistry(systemClock);
  const deps = { clock: systemClock, ...verify } as unknown as BrokerDeps;
  const authenticate = createAuthenticate({
    deps,
    options: testBrokerOptions({ connectRatePerIp }),
    counters,
    sessions,
    log: silentLogger,
    isClosing: () => false,
    onSession: (_client, session) => sessions.add(session),
  });
  const answers: { err: { returnCode?: number } | null; ok: boolean | null }[] = [];
  const connect = (clientId: string) => {
    const client = { id: clientId, closed: false, conn: { remoteAddress: '127.0.0.1' } } as unknown as Client;
    authenticate(client, 'dev', Buffer.from(SECRET), (err, ok) => answers.push({ err, ok }));
  };
  return { connect, answers, sessions, counters };
}

describe('MQTT CONNECT hook: cached key verifications', () => {
  it('answers a CONNECT whose key verification is cached before returning, without the async verify', () => {
    const verifyApiKey = vi.fn(async () => principal);
    const { connect, answers, sessions } = setUp({ verifyApiKey, verifyApiKeyCached: () => principal });
    connect('c1');
    expect(answers).toEqual([{ err: null, ok: true }]);
    expect(sessions.byClientId('c1')?.principal).toBe(principal);
    expect(verifyApiKey).not.toHaveBeenCalled();
  });

  it('refuses a cached key that is no longer good as the store path does (0x05, counted)', () => {
    const revoked = () => {
      throw unauthorized('API key revoked', 'revoked');
    };
    const { connect, answers, sessions, counters } = setUp({
      verifyApiKey: async () => principal,
      verifyApiKeyCached: revoked,
    });
    connect('c1');
    expect(answers.map((a) => [a.err?.returnCode, a.ok])).toEqual([[ConnackCode.notAuthorized, null]]);
    expect(sessions.byClientId('c1')).toBeUndefined();
    expect(counters.snapshot()['dakkio_mqtt_connections_refused_total{reason="revoked"}']).toBe(1);
  });

  it('falls back to the store lookup on a cache miss, and waits for the per-IP limiter when there is one', async () => {
    const miss = setUp({ verifyApiKey: async () => principal, verifyApiKeyCached: () => undefined });
    miss.connect('c1');
    expect(miss.answers).toEqual([]);
    await vi.waitFor(() => expect(miss.answers).toEqual([{ err: null, ok: true }]));

    const verifyApiKeyCached = vi.fn(() => principal);
    const limited = setUp({ verifyApiKey: async () => principal, verifyApiKeyCached }, 100);
    limited.connect('c2');
    expect(limited.answers).toEqual([]);
    await vi.waitFor(() => expect(limited.answers).toEqual([{ err: null, ok: true }]));
    expect(verifyApiKeyCached).not.toHaveBeenCalled();
  });
});
