import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DakkioError } from '../errors.ts';
import { createLoginLimiter } from './login-limiter.ts';
import { TEST_SCRYPT_PARAMS } from './passwords.ts';
import { createTestEnv, type TestEnv } from './testing/fixture.ts';
import { ACCESS_TOKEN_TTL_SECONDS, createTokenService, REFRESH_TOKEN_TTL_MS, type TokenService } from './token-service.ts';
import { createUserService, type UserService } from './user-service.ts';

const secret = new Uint8Array(randomBytes(32));

async function expectUnauthorized(p: Promise<unknown>, problem?: string): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DakkioError);
  expect((err as DakkioError).code).toBe('unauthorized');
  if (problem) expect((err as DakkioError).credentialProblem).toBe(problem);
}

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('token service', () => {
  let env: TestEnv;
  let tokens: TokenService;
  let users: UserService;
  const ctx = { ip: '192.0.2.1' };

  beforeEach(async () => {
    env = await createTestEnv();
    tokens = createTokenService({ secret, clock: env.clock, ids: env.ids, db: env.db });
    users = createUserService({
      db: env.db,
      clock: env.clock,
      ids: env.ids,
      tokens,
      events: env.events,
      readingStore: env.readingStore,
      loginLimiter: createLoginLimiter(),
      passwordParams: TEST_SCRYPT_PARAMS,
    });
  });
  afterEach(async () => {
    await env.close();
  });

  const register = (email = 'ada@example.com') => users.register({ email, password: 'password123' }, ctx);

  it('issues HS256 tokens with sub, jti, iat, exp = iat + 86400, iss and aud', async () => {
    const { user, token, expiresAt } = await register();
    const [h, p] = token.split('.') as [string, string];
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toMatchObject({ alg: 'HS256' });
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    expect(claims).toMatchObject({ sub: user.id, iss: 'dakkio', aud: 'dakkio-api' });
    expect(claims.exp - claims.iat).toBe(ACCESS_TOKEN_TTL_SECONDS);
    expect(expiresAt).toBe(claims.exp * 1000);
    const principal = await tokens.verifyAccessToken(token);
    expect(principal).toEqual({ kind: 'user', userId: user.id, jti: claims.jti, expiresAt });
  });

  it('refuses an expired token (injected clock)', async () => {
    const { token } = await register();
    env.clock.advance(ACCESS_TOKEN_TTL_SECONDS * 1000 - 1000);
    await tokens.verifyAccessToken(token);
    env.clock.advance(2000);
    await expectUnauthorized(tokens.verifyAccessToken(token), 'expired');
  });

  it('refuses a wrong audience or issuer, alg none and a tampered signature', async () => {
    const { user, token } = await register();
    const now = Math.floor(env.clock.now() / 1000);
    const forge = (iss: string, aud: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(user.id)
        .setJti('x')
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .setIssuer(iss)
        .setAudience(aud)
        .sign(secret);
    await expectUnauthorized(tokens.verifyAccessToken(await forge('dakkio', 'someone-else')));
    await expectUnauthorized(tokens.verifyAccessToken(await forge('evil', 'dakkio-api')));

    const [, payload] = token.split('.') as [string, string, string];
    await expectUnauthorized(tokens.verifyAccessToken(`${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`));

    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const [h, , s] = token.split('.');
    await expectUnauthorized(tokens.verifyAccessToken(`${h}.${b64({ ...claims, sub: 'ffffffffffffffffffffffff' })}.${s}`));
    const otherKey = new Uint8Array(randomBytes(32));
    const foreign = await new SignJWT({ jti: 'y' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.id)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .setIssuer('dakkio')
      .setAudience('dakkio-api')
      .sign(otherKey);
    await expectUnauthorized(tokens.verifyAccessToken(foreign));
    await expectUnauthorized(tokens.verifyAccessToken('not-a-jwt'));
  });

  it('kills the access token and its refresh family on logout', async () => {
    const { token, refreshToken } = await register();
    const other = await users.login({ email: 'ada@example.com', password: 'password123' }, ctx);
    const principal = await tokens.verifyAccessToken(token);
    await users.logout(principal);
    await expectUnauthorized(tokens.verifyAccessToken(token), 'revoked');
    await expectUnauthorized(users.refresh(refreshToken), 'revoked');
    // Only that session: another login of the same user goes on.
    await tokens.verifyAccessToken(other.token);
    await users.refresh(other.refreshToken);
  });

  it('rotates refresh tokens once; reusing one revokes the whole family', async () => {
    const first = await register();
    const second = await users.refresh(first.refreshToken);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    await tokens.verifyAccessToken(second.token);
    const third = await users.refresh(second.refreshToken);

    await expectUnauthorized(users.refresh(first.refreshToken), 'revoked');
    // The family is dead: the newest refresh token and its access token stop too.
    await expectUnauthorized(users.refresh(third.refreshToken), 'revoked');
    await expectUnauthorized(tokens.verifyAccessToken(third.token), 'revoked');
    await expectUnauthorized(users.refresh('garbage'), 'invalid');
  });

  it('refresh tokens expire after 30 days', async () => {
    const { refreshToken } = await register();
    env.clock.advance(REFRESH_TOKEN_TTL_MS + 1);
    await expectUnauthorized(users.refresh(refreshToken), 'expired');
  });

  it('a password change ends every other session but keeps the current one', async () => {
    const a = await register();
    const b = await users.login({ email: 'ada@example.com', password: 'password123' }, ctx);
    const principalA = await tokens.verifyAccessToken(a.token);
    await users.updateMe(principalA, { password: { current: 'password123', new: 'new-password-456' } });
    await tokens.verifyAccessToken(a.token);
    await expectUnauthorized(tokens.verifyAccessToken(b.token), 'revoked');
    await expectUnauthorized(users.refresh(b.refreshToken), 'revoked');
    await users.refresh(a.refreshToken);
    await expectUnauthorized(users.login({ email: 'ada@example.com', password: 'password123' }, ctx));
    await users.login({ email: 'ada@example.com', password: 'new-password-456' }, ctx);
  });

  it('endAllSessions kills every token issued so far, not later ones', async () => {
    const a = await register();
    const { userId } = await tokens.verifyAccessToken(a.token);
    env.clock.advance(1500);
    await tokens.endAllSessions(userId);
    await expectUnauthorized(tokens.verifyAccessToken(a.token), 'revoked');
    await expectUnauthorized(users.refresh(a.refreshToken), 'revoked');
    env.clock.advance(1000);
    const later = await tokens.startSession(userId);
    await tokens.verifyAccessToken(later.token);
  });

  it("refuses a deleted user's token", async () => {
    const a = await register();
    const principal = await tokens.verifyAccessToken(a.token);
    await users.deleteMe(principal, 'password123');
    await expectUnauthorized(tokens.verifyAccessToken(a.token));
    await expectUnauthorized(users.refresh(a.refreshToken));
  });

  it('refuses a secret shorter than 256 bits', () => {
    expect(() => createTokenService({ secret: new Uint8Array(16), clock: env.clock, ids: env.ids, db: env.db })).toThrow();
  });

  it('prunes expired revocations', async () => {
    const a = await register();
    await users.logout(await tokens.verifyAccessToken(a.token));
    env.clock.advance(REFRESH_TOKEN_TTL_MS + 1);
    await tokens.pruneExpired();
    const left = await env.db.selectFrom('revoked_access_tokens').selectAll().execute();
    expect(left).toEqual([]);
  });
});
