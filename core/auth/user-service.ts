import type { Clock } from '../clock.ts';
import { conflict, forbidden, notFound, unauthorized, validationFailed } from '../errors.ts';
import type { IdGenerator } from '../ids.ts';
import type { EventBus } from '../ports/event-bus.ts';
import type { ReadingStore } from '../ports/reading-store.ts';
import type { MetadataDb } from '../store/metadata/sqlite-metadata-db.ts';
import { createLoginLimiter, type LoginLimiter } from './login-limiter.ts';
import { createDummyHash, hashPassword, OWASP_SCRYPT_PARAMS, type ScryptParams, verifyPassword } from './passwords.ts';
import type { UserPrincipal } from './principal.ts';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './schemas.ts';
import type { SessionTokens, TokenService } from './token-service.ts';
import { toUserView, type UserView } from './views.ts';

export interface UserServiceOptions {
  db: MetadataDb;
  clock: Clock;
  ids: IdGenerator;
  tokens: TokenService;
  events: EventBus;
  readingStore: ReadingStore;
  loginLimiter?: LoginLimiter;
  /** scrypt cost for new hashes; OWASP by default, lower only in tests */
  passwordParams?: ScryptParams;
}

export interface AuthResult extends SessionTokens {
  user: UserView;
}

export interface UserService {
  register(input: { email: string; password: string; name?: string }, ctx: { ip: string }): Promise<AuthResult>;
  login(input: { email: string; password: string }, ctx: { ip: string }): Promise<AuthResult>;
  refresh(refreshToken: string): Promise<SessionTokens>;
  logout(principal: UserPrincipal): Promise<void>;
  getMe(userId: string): Promise<UserView>;
  updateMe(
    principal: UserPrincipal,
    patch: { name?: string | null; email?: string; password?: { current: string; new: string } },
  ): Promise<UserView>;
  deleteMe(principal: UserPrincipal, password: string): Promise<void>;
}

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

function checkNewPassword(pw: string, path: string): void {
  if (typeof pw !== 'string' || pw.length < PASSWORD_MIN_LENGTH || pw.length > PASSWORD_MAX_LENGTH) {
    throw validationFailed(`password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`, [
      { path, message: `at least ${PASSWORD_MIN_LENGTH} characters` },
    ]);
  }
}

const isUniqueViolation = (err: unknown) => /UNIQUE|duplicate key/i.test(String((err as Error)?.message ?? err));

export function createUserService(opts: UserServiceOptions): UserService {
  const { db, clock, ids, tokens, events, readingStore } = opts;
  const params = opts.passwordParams ?? OWASP_SCRYPT_PARAMS;
  const limiter = opts.loginLimiter ?? createLoginLimiter();
  // Same cost as real hashes, so an unknown email costs what a wrong password costs. Made up
  // front: computing it on the first unknown email would make that one answer slower.
  const dummyHash = createDummyHash(params);
  dummyHash.catch(() => {}); // surfaces at its first use, not as an unhandled rejection
  const getDummyHash = () => dummyHash;

  async function loadUser(userId: string) {
    const row = await db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
    if (!row) throw unauthorized('user no longer exists');
    return row;
  }

  async function withSession(user: Parameters<typeof toUserView>[0]): Promise<AuthResult> {
    const session = await tokens.startSession(user.id);
    return { user: toUserView(user), ...session };
  }

  return {
    async register(input) {
      const email = normaliseEmail(input.email);
      checkNewPassword(input.password, 'password');
      const exists = await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
      if (exists) throw conflict('an account with this email already exists');
      const row = {
        id: ids(),
        email,
        name: input.name?.trim() || null,
        password_hash: await hashPassword(input.password, params),
        created_at: clock.now(),
        sessions_valid_after: 0,
      };
      try {
        await db.insertInto('users').values(row).execute();
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict('an account with this email already exists');
        throw err;
      }
      return withSession(row);
    },

    async login(input, ctx) {
      const email = normaliseEmail(String(input.email ?? ''));
      await limiter.check(email, ctx.ip);
      const row = await db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
      const ok = await verifyPassword(String(input.password ?? ''), row?.password_hash ?? (await getDummyHash()));
      if (!row || !ok) {
        await limiter.recordFailure(email, ctx.ip);
        throw unauthorized('wrong email or password');
      }
      await limiter.recordSuccess(email, ctx.ip);
      return withSession(row);
    },

    refresh: (refreshToken) => tokens.refresh(refreshToken),

    logout: (principal) => tokens.endSession(principal),

    async getMe(userId) {
      const row = await db
        .selectFrom('users')
        .select(['id', 'email', 'name', 'created_at'])
        .where('id', '=', userId)
        .executeTakeFirst();
      if (!row) throw notFound('user');
      return toUserView(row);
    },

    async updateMe(principal, patch) {
      const user = await loadUser(principal.userId);
      const set: { name?: string | null; email?: string; password_hash?: string } = {};
      if (patch.name !== undefined) set.name = patch.name === null ? null : patch.name.trim() || null;
      if (patch.email !== undefined) set.email = normaliseEmail(patch.email);
      if (patch.password !== undefined) {
        checkNewPassword(patch.password.new, 'password.new');
        if (!(await verifyPassword(patch.password.current, user.password_hash))) {
          throw forbidden('current password is wrong');
        }
        set.password_hash = await hashPassword(patch.password.new, params);
      }
      if (Object.keys(set).length > 0) {
        try {
          await db.updateTable('users').set(set).where('id', '=', user.id).execute();
        } catch (err) {
          if (isUniqueViolation(err)) throw conflict('an account with this email already exists');
          throw err;
        }
      }
      if (set.password_hash !== undefined) await tokens.endOtherSessions(user.id, principal);
      return toUserView({ ...user, ...set });
    },

    async deleteMe(principal, password) {
      const user = await loadUser(principal.userId);
      if (!(await verifyPassword(String(password ?? ''), user.password_hash))) {
        throw forbidden('password is wrong');
      }
      const buckets = await db.selectFrom('buckets').select('id').where('owner_id', '=', user.id).execute();
      const keys = await db.selectFrom('api_keys').select('id').where('owner_id', '=', user.id).execute();
      // Readings first: if that fails the account still exists and the call can be retried.
      for (const b of buckets) await readingStore.deleteBucket(b.id);
      await tokens.endAllSessions(user.id);
      // Foreign keys cascade from users to keys, buckets, sources and refresh tokens.
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('data_sources').where('owner_id', '=', user.id).execute();
        await trx.deleteFrom('users').where('id', '=', user.id).execute();
      });
      for (const b of buckets) await events.publish({ type: 'bucket.deleted', bucketId: b.id, ownerId: user.id });
      for (const k of keys) await events.publish({ type: 'key.revoked', keyId: k.id, ownerId: user.id });
      await events.publish({ type: 'owner.deleted', ownerId: user.id });
    },
  };
}
