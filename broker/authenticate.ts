/**
 * The CONNECT hook: connection rate per IP, API key (or a legacy credential via
 * authenticateOther), expiry, and the client-id takeover rule. Answers with MQTT
 * 3.1.1 CONNACK codes from error-mapping.ts.
 */
import type { AuthenticateError, Client } from 'aedes';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { DevicePrincipal } from '../core/auth/principal.ts';
import { isDakkioError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { type BrokerCounters, COUNTER } from './counters.ts';
import { ConnackCode, connackForError } from './error-mapping.ts';
import { ownerOf, type Session, type SessionRegistry } from './sessions.ts';
import type { BrokerDeps, BrokerOptions } from './types.ts';

export type AuthenticateHandler = (
  client: Client,
  username: string | undefined,
  password: Buffer | undefined,
  done: (err: AuthenticateError | null, ok: boolean | null) => void,
) => void;

export interface AuthenticateContext {
  deps: BrokerDeps;
  options: BrokerOptions;
  counters: BrokerCounters;
  sessions: SessionRegistry;
  log: Logger;
  isClosing(): boolean;
  /** an empty client id with clean session 0, noted at preConnect (Aedes invents an id for it) */
  hasEmptyPersistentId?(client: Client): boolean;
  /** The session is accepted: index it, watch its connection, arm its expiry. */
  onSession(client: Client, session: Session): void;
}

const authError = (returnCode: number, message: string): AuthenticateError =>
  Object.assign(new Error(message), { returnCode }) as AuthenticateError;

function remoteIp(client: Client): string {
  const conn = client.conn as { remoteAddress?: string };
  return conn.remoteAddress ?? client.req?.socket.remoteAddress ?? 'unknown';
}

/**
 * A session of an accepted CONNECT. A class rather than an object literal: the `ip` getter is one
 * function on the prototype, where a literal made a getter closure per CONNECT, and every session
 * has the same shape.
 */
class ClientSession implements Session {
  readonly clientId: string;
  dropped = false;
  watched: Set<string> | undefined = undefined;
  expiryTimer: NodeJS.Timeout | undefined = undefined;
  constructor(
    readonly connection: Client,
    public principal: DevicePrincipal | null,
    readonly secret: string | undefined,
    public lastVerifiedAt: number,
  ) {
    this.clientId = connection.id;
  }
  /** read when asked, not per CONNECT: remoteAddress is a getpeername syscall (~2% of a connect's CPU) */
  get ip(): string {
    return remoteIp(this.connection);
  }
}

export function createAuthenticate(ctx: AuthenticateContext): AuthenticateHandler {
  const { deps, options, counters, sessions, log } = ctx;
  const connectLimiter =
    options.connectRatePerIp > 0
      ? new RateLimiterMemory({ keyPrefix: 'mqtt-connect', points: options.connectRatePerIp, duration: 1 })
      : null;

  type Done = Parameters<AuthenticateHandler>[3];
  // declared once, not per CONNECT: closures made per call cost allocation (and tsx's name helper)
  const refuse = (done: Done, code: number, reason: string, message: string) => {
    counters.refused(reason);
    done(authError(code, message), null);
  };
  const fail = (done: Done, err: unknown) => {
    const code = connackForError(err);
    const reason = isDakkioError(err) ? (err.credentialProblem ?? err.code) : 'internal';
    if (code === ConnackCode.serverUnavailable) log.error({ err }, 'mqtt authentication failed');
    refuse(done, code, reason, isDakkioError(err) ? err.message : 'server unavailable');
  };

  async function admit(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: Done,
  ): Promise<void> {
    if (ctx.isClosing()) return refuse(done, ConnackCode.serverUnavailable, 'shutting_down', 'server shutting down');
    if (ctx.hasEmptyPersistentId?.(client)) {
      return refuse(
        done,
        ConnackCode.identifierRejected,
        'client_id_rejected',
        'an empty client id needs clean session [MQTT-3.1.3-8]',
      );
    }
    if (connectLimiter) {
      try {
        await connectLimiter.consume(remoteIp(client));
      } catch {
        return refuse(done, ConnackCode.serverUnavailable, 'rate_limited', 'too many connections from this address');
      }
    }
    const secret = password?.toString('utf8');
    let principal: DevicePrincipal | null = null;
    if (!secret) {
      if (!options.allowAnonymous)
        return refuse(done, ConnackCode.badUsernameOrPassword, 'missing', 'a password (API key) is required');
    } else if (secret.startsWith('dakkio_')) {
      principal = await deps.verifyApiKey(secret);
    } else if (deps.authenticateOther) {
      principal = await deps.authenticateOther(username, secret, client.id);
      if (!principal) return refuse(done, ConnackCode.badUsernameOrPassword, 'invalid', 'bad username or password');
    } else {
      return refuse(done, ConnackCode.badUsernameOrPassword, 'invalid', 'the password must be an API key');
    }
    if (principal?.kind === 'api-key' && principal.expiresAt !== null && principal.expiresAt <= deps.clock.now()) {
      return refuse(done, ConnackCode.notAuthorized, 'expired', 'the API key has expired');
    }
    // A live client id under another owner is refused instead of kicking that device;
    // the same owner reconnecting takes over [MQTT-3.1.4-2].
    const existing = sessions.byClientId(client.id);
    if (existing && !existing.dropped && ownerOf(existing.principal) !== ownerOf(principal)) {
      return refuse(done, ConnackCode.identifierRejected, 'client_id_in_use', 'client id in use by another account');
    }
    if (client.closed || ctx.isClosing())
      return done(authError(ConnackCode.serverUnavailable, 'connection closed'), null);
    ctx.onSession(client, new ClientSession(client, principal, principal?.kind === 'api-key' ? secret : undefined, deps.clock.now()));
    counters.inc(COUNTER.connectionsAccepted);
    done(null, true);
  }

  return function authenticate(client, username, password, done) {
    admit(client, username, password, done).catch((err: unknown) => fail(done, err));
  };
}
