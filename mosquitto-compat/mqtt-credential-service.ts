/**
 * Legacy MQTT username/password credentials with Mosquitto-style topic rules
 * (API.md "Coming from Mosquitto"). Devices connect with these exactly as they did
 * on Mosquitto; the broker calls authenticate() at CONNECT and evaluates the
 * principal's rules with acl-evaluate.ts.
 */
import { randomBytes } from 'node:crypto';
import type { MqttCredentialPrincipal, TopicRule } from '../core/auth/principal.ts';
import { hashPassword } from '../core/auth/passwords.ts';
import type { Clock } from '../core/clock.ts';
import { conflict, notFound, validationFailed } from '../core/errors.ts';
import { type IdGenerator, isId } from '../core/ids.ts';
import { type Logger, silentLogger } from '../core/logger.ts';
import {
  type CreateMqttCredentialInput,
  createMqttCredentialSchema,
  type UpdateMqttCredentialInput,
  updateMqttCredentialSchema,
} from '../core/mqtt-compat/schemas.ts';
import { buildPage, type Page, type PageRequest, resolvePage } from '../core/pagination.ts';
import type { EventBus } from '../core/ports/event-bus.ts';
import type { MetadataDb } from '../core/store/metadata/sqlite-metadata-db.ts';
import type { MqttCredentialsTable } from '../core/store/metadata/tables.ts';
import { type CredentialVerifierOptions, createCredentialVerifier, verifyAnyHash } from './credential-verifier.ts';
import { parseMosquittoHash } from './password-hash.ts';
import { isValidFilter } from './topic-filter.ts';
import { parseOrThrow } from '../core/validation.ts';

export type PasswordFormat = 'dakkio-scrypt' | 'mosquitto-pbkdf2' | 'mosquitto-sha512' | 'argon2id';

/** Never carries the hash. Times are epoch ms. */
export interface MqttCredentialView {
  id: string;
  username: string;
  rules: TopicRule[];
  passwordFormat: PasswordFormat;
  createdAt: number;
  updatedAt: number;
}

export interface MqttCredentialServiceOptions {
  db: MetadataDb;
  clock: Clock;
  ids: IdGenerator;
  events: EventBus;
  logger?: Logger;
  /** how a plain password given to create/update is stored; default core/auth/passwords.ts (scrypt, OWASP cost) */
  hashPassword?: (password: string) => Promise<string>;
  cache?: CredentialVerifierOptions;
}

export interface MqttCredentialService {
  list(ownerId: string, page?: PageRequest): Promise<Page<MqttCredentialView>>;
  create(ownerId: string, input: CreateMqttCredentialInput): Promise<MqttCredentialView>;
  /** Another owner's credential is not_found. */
  get(ownerId: string, id: string): Promise<MqttCredentialView>;
  update(ownerId: string, id: string, patch: UpdateMqttCredentialInput): Promise<MqttCredentialView>;
  delete(ownerId: string, id: string): Promise<void>;
  /**
   * CONNECT check: null for an unknown username or a wrong password (the broker
   * answers 0x04). Unknown usernames cost a hash verification too. Successful
   * verifications are cached (see credential-verifier.ts). The CONNECT password may
   * be passed as the raw Buffer. `clientId` is only logged.
   */
  authenticate(username: string, password: string | Buffer, clientId: string): Promise<MqttCredentialPrincipal | null>;
  close(): Promise<void>;
}

export function passwordFormatOf(hash: string): PasswordFormat {
  if (hash.startsWith('$7$')) return 'mosquitto-pbkdf2';
  if (hash.startsWith('$6$')) return 'mosquitto-sha512';
  if (hash.startsWith('$argon2id$')) return 'argon2id';
  return 'dakkio-scrypt';
}

export function parseRules(json: string): TopicRule[] {
  return JSON.parse(json) as TopicRule[];
}

export function toCredentialView(row: MqttCredentialsTable): MqttCredentialView {
  return {
    id: row.id,
    username: row.username,
    rules: parseRules(row.rules),
    passwordFormat: passwordFormatOf(row.password_hash),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function assertValidRules(rules: readonly TopicRule[]): void {
  const bad = rules.findIndex((r) => !isValidFilter(r.filter));
  if (bad >= 0) {
    throw validationFailed('invalid topic filter', [{ path: `rules.${bad}.filter`, message: 'invalid MQTT topic filter' }]);
  }
}

export function assertMosquittoHash(hash: string): void {
  const parsed = parseMosquittoHash(hash);
  if (!parsed.ok) throw validationFailed('invalid passwordHash', [{ path: 'passwordHash', message: parsed.reason }]);
}

const isUniqueViolation = (err: unknown) => /UNIQUE|unique constraint|duplicate key/i.test(String((err as Error)?.message));

export function createMqttCredentialService(opts: MqttCredentialServiceOptions): MqttCredentialService {
  const { db, clock, ids, events } = opts;
  const logger = opts.logger ?? silentLogger;
  const hash = opts.hashPassword ?? ((pw: string) => hashPassword(pw));
  const verifier = createCredentialVerifier(opts.cache);
  let dummyHash: Promise<string> | null = null;
  const unsubscribe = events.subscribe('mqtt-credential.changed', (e) => verifier.forget(e.credentialId));

  async function owned(ownerId: string, id: string): Promise<MqttCredentialsTable> {
    if (!isId(id)) throw notFound('MQTT credential');
    const row = await db
      .selectFrom('mqtt_credentials')
      .selectAll()
      .where('id', '=', id)
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
    if (!row) throw notFound('MQTT credential');
    return row;
  }

  async function usernameFree(username: string, exceptId?: string): Promise<void> {
    const row = await db.selectFrom('mqtt_credentials').select('id').where('username', '=', username).executeTakeFirst();
    if (row && row.id !== exceptId) throw conflict('an MQTT credential with this username already exists');
  }

  return {
    async list(ownerId, page) {
      const { afterId, limit } = resolvePage(page);
      let q = db.selectFrom('mqtt_credentials').selectAll().where('owner_id', '=', ownerId);
      if (afterId) q = q.where('id', '>', afterId);
      return buildPage(await q.orderBy('id').limit(limit + 1).execute(), limit, toCredentialView);
    },

    async create(ownerId, rawInput) {
      const input = parseOrThrow(createMqttCredentialSchema, rawInput, 'request body');
      assertValidRules(input.rules);
      if (input.passwordHash !== undefined) assertMosquittoHash(input.passwordHash);
      await usernameFree(input.username);
      const now = clock.now();
      const row: MqttCredentialsTable = {
        id: ids(),
        owner_id: ownerId,
        username: input.username,
        password_hash: input.passwordHash ?? (await hash(input.password ?? '')),
        rules: JSON.stringify(input.rules),
        created_at: now,
        updated_at: now,
      };
      try {
        await db.insertInto('mqtt_credentials').values(row).execute();
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict('an MQTT credential with this username already exists');
        throw err;
      }
      return toCredentialView(row);
    },

    get: async (ownerId, id) => toCredentialView(await owned(ownerId, id)),

    async update(ownerId, id, rawPatch) {
      const patch = parseOrThrow(updateMqttCredentialSchema, rawPatch, 'request body');
      const row = await owned(ownerId, id);
      const set: Partial<MqttCredentialsTable> = {};
      if (patch.username !== undefined && patch.username !== row.username) {
        await usernameFree(patch.username, id);
        set.username = patch.username;
      }
      if (patch.passwordHash !== undefined) {
        assertMosquittoHash(patch.passwordHash);
        set.password_hash = patch.passwordHash;
      } else if (patch.password !== undefined) {
        set.password_hash = await hash(patch.password);
      }
      if (patch.rules !== undefined) {
        assertValidRules(patch.rules);
        set.rules = JSON.stringify(patch.rules);
      }
      if (Object.keys(set).length === 0) return toCredentialView(row);
      set.updated_at = clock.now();
      try {
        await db.updateTable('mqtt_credentials').set(set).where('id', '=', id).execute();
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict('an MQTT credential with this username already exists');
        throw err;
      }
      verifier.forget(id);
      await events.publish({ type: 'mqtt-credential.changed', credentialId: id, ownerId });
      return toCredentialView({ ...row, ...set });
    },

    async delete(ownerId, id) {
      await owned(ownerId, id);
      await db.deleteFrom('mqtt_credentials').where('id', '=', id).execute();
      verifier.forget(id);
      await events.publish({ type: 'mqtt-credential.changed', credentialId: id, ownerId });
    },

    async authenticate(username, password, clientId) {
      const row = await db
        .selectFrom('mqtt_credentials')
        .select(['id', 'owner_id', 'username', 'password_hash', 'rules'])
        .where('username', '=', username)
        .executeTakeFirst();
      if (!row) {
        // Spend a hash verification anyway so an unknown username can't be told from a wrong password by timing.
        dummyHash ??= hash(randomBytes(24).toString('base64'));
        await verifyAnyHash(password, await dummyHash);
        logger.debug({ clientId }, 'mqtt credential: unknown username');
        return null;
      }
      const ok = await verifier.verify(row.id, row.password_hash, password);
      if (!ok) {
        logger.debug({ clientId, credentialId: row.id }, 'mqtt credential: wrong password');
        return null;
      }
      return {
        kind: 'mqtt-credential',
        credentialId: row.id,
        ownerId: row.owner_id,
        username: row.username,
        rules: parseRules(row.rules),
      };
    },

    async close() {
      unsubscribe();
      verifier.clear();
    },
  };
}
