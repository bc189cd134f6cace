import { createHash, randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Clock } from '../clock.ts';
import { DakkioError, unauthorized } from '../errors.ts';
import type { IdGenerator } from '../ids.ts';
import type { MetadataDb } from '../store/metadata/sqlite-metadata-db.ts';
import type { UserPrincipal } from './principal.ts';

/** API.md: access tokens live 24 h (`exp` = `iat` + 86400). */
export const ACCESS_TOKEN_TTL_SECONDS = 86_400;
/** Refresh tokens live 30 days from issue; each is single-use (rotation), so an active client never hits this. */
export const REFRESH_TOKEN_TTL_MS = 30 * 86_400_000;

export interface TokenServiceOptions {
  /** HS256 key, at least 256 bits (cli/jwt-secret.ts) */
  secret: Uint8Array;
  clock: Clock;
  ids: IdGenerator;
  db: MetadataDb;
  issuer?: string;
  audience?: string;
}

export interface AccessToken {
  token: string;
  jti: string;
  /** epoch ms */
  expiresAt: number;
}

export interface SessionTokens {
  token: string;
  refreshToken: string;
  /** the access token's expiry, epoch ms */
  expiresAt: number;
}

export interface TokenService {
  /** A bare access token, not tied to a refresh family (user sessions use startSession). */
  issueAccessToken(userId: string): Promise<AccessToken>;
  /** Throws DakkioError('unauthorized') for anything but a live token of an existing user. */
  verifyAccessToken(token: string): Promise<UserPrincipal>;
  /** Access token + refresh token in a new refresh family (login, register). */
  startSession(userId: string): Promise<SessionTokens>;
  /** Single-use rotation; presenting a used or revoked refresh token kills its whole family. */
  refresh(refreshToken: string): Promise<SessionTokens>;
  /** Logout: this access token and its refresh family stop working at once. */
  endSession(principal: UserPrincipal): Promise<void>;
  /** Password change: every session of the user except `keep`'s dies. */
  endOtherSessions(userId: string, keep: UserPrincipal): Promise<void>;
  /** "Log out everywhere": every token of the user issued up to now dies. */
  endAllSessions(userId: string): Promise<void>;
  /** Housekeeping: forget revocations and refresh tokens that have expired anyway. */
  pruneExpired(): Promise<void>;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

export function createTokenService(opts: TokenServiceOptions): TokenService {
  const { secret, clock, ids, db } = opts;
  const issuer = opts.issuer ?? 'dakkio';
  const audience = opts.audience ?? 'dakkio-api';
  if (secret.byteLength < 32) throw new DakkioError('internal', 'the JWT secret must be at least 256 bits');

  async function issueAccessToken(userId: string): Promise<AccessToken> {
    const jti = ids();
    const iat = Math.floor(clock.now() / 1000);
    const exp = iat + ACCESS_TOKEN_TTL_SECONDS;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setJti(jti)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setIssuer(issuer)
      .setAudience(audience)
      .sign(secret);
    return { token, jti, expiresAt: exp * 1000 };
  }

  async function issueInFamily(userId: string, familyId: string): Promise<SessionTokens> {
    const access = await issueAccessToken(userId);
    const refreshToken = randomBytes(32).toString('base64url');
    const now = clock.now();
    await db
      .insertInto('refresh_tokens')
      .values({
        token_hash: sha256(refreshToken),
        family_id: familyId,
        user_id: userId,
        created_at: now,
        expires_at: now + REFRESH_TOKEN_TTL_MS,
        used_at: null,
        revoked_at: null,
        access_jti: access.jti,
      })
      .execute();
    return { token: access.token, refreshToken, expiresAt: access.expiresAt };
  }

  /** Revokes refresh rows matching `where` and every access token issued with them that may still be live. */
  async function revokeRows(rows: { token_hash: string; access_jti: string; created_at: number }[]): Promise<void> {
    if (rows.length === 0) return;
    const now = clock.now();
    await db.transaction().execute(async (trx) => {
      for (let i = 0; i < rows.length; i += 500) {
        const chunk = rows.slice(i, i + 500);
        await trx
          .updateTable('refresh_tokens')
          .set({ revoked_at: now })
          .where(
            'token_hash',
            'in',
            chunk.map((r) => r.token_hash),
          )
          .where('revoked_at', 'is', null)
          .execute();
        // The access token was issued together with its refresh row, so it expires 24 h after the row.
        const live = chunk
          .map((r) => ({ jti: r.access_jti, expires_at: Number(r.created_at) + ACCESS_TOKEN_TTL_SECONDS * 1000 + 1000 }))
          .filter((r) => r.expires_at > now);
        if (live.length > 0) {
          await trx
            .insertInto('revoked_access_tokens')
            .values(live)
            .onConflict((oc) => oc.column('jti').doNothing())
            .execute();
        }
      }
    });
  }

  async function revokeFamily(familyId: string): Promise<void> {
    const rows = await db
      .selectFrom('refresh_tokens')
      .select(['token_hash', 'access_jti', 'created_at'])
      .where('family_id', '=', familyId)
      .execute();
    await revokeRows(rows);
  }

  async function revokeJti(jti: string, expiresAt: number): Promise<void> {
    await db
      .insertInto('revoked_access_tokens')
      .values({ jti, expires_at: expiresAt })
      .onConflict((oc) => oc.column('jti').doNothing())
      .execute();
  }

  return {
    issueAccessToken,

    async verifyAccessToken(token) {
      let sub: string;
      let jti: string;
      let iat: number;
      let exp: number;
      try {
        const { payload } = await jwtVerify(token, secret, {
          algorithms: ['HS256'],
          issuer,
          audience,
          currentDate: new Date(clock.now()),
          requiredClaims: ['sub', 'jti', 'iat', 'exp'],
        });
        sub = payload.sub as string;
        jti = payload.jti as string;
        iat = payload.iat as number;
        exp = payload.exp as number;
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) throw unauthorized('token expired', 'expired');
        throw unauthorized('invalid token');
      }
      const row = await db
        .selectFrom('users')
        .leftJoin('revoked_access_tokens', (j) => j.on('revoked_access_tokens.jti', '=', jti))
        .select(['users.sessions_valid_after', 'revoked_access_tokens.jti as revokedJti'])
        .where('users.id', '=', sub)
        .executeTakeFirst();
      if (!row) throw unauthorized('invalid token');
      if (row.revokedJti !== null) throw unauthorized('token revoked', 'revoked');
      // iat has whole-second precision; endAllSessions also revokes each jti, so flooring the cutoff loses nothing.
      if (iat * 1000 < Math.floor(Number(row.sessions_valid_after) / 1000) * 1000) {
        throw unauthorized('token revoked', 'revoked');
      }
      return { kind: 'user', userId: sub, jti, expiresAt: exp * 1000 };
    },

    startSession: (userId) => issueInFamily(userId, ids()),

    async refresh(refreshToken) {
      if (typeof refreshToken !== 'string' || refreshToken.length === 0 || refreshToken.length > 200) {
        throw unauthorized('invalid refresh token');
      }
      const hash = sha256(refreshToken);
      const row = await db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
      if (!row) throw unauthorized('invalid refresh token');
      if (row.revoked_at !== null) throw unauthorized('refresh token revoked', 'revoked');
      if (row.used_at !== null) {
        // Reuse means the token leaked (or a client raced itself): end the whole family.
        await revokeFamily(row.family_id);
        throw unauthorized('refresh token already used', 'revoked');
      }
      const now = clock.now();
      if (Number(row.expires_at) <= now) throw unauthorized('refresh token expired', 'expired');
      const user = await db
        .selectFrom('users')
        .select(['id', 'sessions_valid_after'])
        .where('id', '=', row.user_id)
        .executeTakeFirst();
      if (!user || Number(row.created_at) < Number(user.sessions_valid_after)) {
        await revokeFamily(row.family_id);
        throw unauthorized('refresh token revoked', 'revoked');
      }
      // Conditional update: of two concurrent presentations only one can win.
      const res = await db
        .updateTable('refresh_tokens')
        .set({ used_at: now })
        .where('token_hash', '=', hash)
        .where('used_at', 'is', null)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) {
        await revokeFamily(row.family_id);
        throw unauthorized('refresh token already used', 'revoked');
      }
      return issueInFamily(user.id, row.family_id);
    },

    async endSession(principal) {
      await revokeJti(principal.jti, principal.expiresAt);
      const row = await db
        .selectFrom('refresh_tokens')
        .select('family_id')
        .where('access_jti', '=', principal.jti)
        .executeTakeFirst();
      if (row) await revokeFamily(row.family_id);
    },

    async endOtherSessions(userId, keep) {
      const keepFamily = await db
        .selectFrom('refresh_tokens')
        .select('family_id')
        .where('access_jti', '=', keep.jti)
        .executeTakeFirst();
      let q = db
        .selectFrom('refresh_tokens')
        .select(['token_hash', 'access_jti', 'created_at'])
        .where('user_id', '=', userId)
        .where('expires_at', '>', clock.now());
      if (keepFamily) q = q.where('family_id', '!=', keepFamily.family_id);
      else q = q.where('access_jti', '!=', keep.jti);
      await revokeRows(await q.execute());
    },

    async endAllSessions(userId) {
      const rows = await db
        .selectFrom('refresh_tokens')
        .select(['token_hash', 'access_jti', 'created_at'])
        .where('user_id', '=', userId)
        .where('expires_at', '>', clock.now())
        .execute();
      await revokeRows(rows);
      await db.updateTable('users').set({ sessions_valid_after: clock.now() }).where('id', '=', userId).execute();
    },

    async pruneExpired() {
      const now = clock.now();
      await db.deleteFrom('revoked_access_tokens').where('expires_at', '<', now).execute();
      await db.deleteFrom('refresh_tokens').where('expires_at', '<', now).execute();
    },
  };
}
