/**
 * Imports a Mosquitto password_file and/or acl_file into an owner's MQTT
 * credentials, in one transaction: with any rejected line nothing is written
 * (unless `partial`). Hashes are imported as they are.
 *
 * Mapping Mosquitto's model onto per-credential rules:
 * - password_file: each user becomes a credential (an existing credential of the
 *   same owner gets the new hash; a username of another owner is rejected).
 * - acl_file: it replaces the rules of every credential of the owner with that
 *   user's `topic` lines plus all `pattern` lines, as Mosquitto would apply them.
 *   Rules of the anonymous section and of users without a credential are skipped
 *   (reported, not an error): dakkio refuses anonymous MQTT connections.
 * - password_file without acl_file: new credentials get `topic readwrite #`,
 *   because Mosquitto without an acl_file lets every authenticated client do
 *   everything (except `$` topics, which `#` does not match here either).
 */
import type { TopicRule } from '../core/auth/principal.ts';
import type { Clock } from '../core/clock.ts';
import type { IdGenerator } from '../core/ids.ts';
import { type MqttImportInput, mqttImportSchema } from '../core/mqtt-compat/schemas.ts';
import type { EventBus } from '../core/ports/event-bus.ts';
import type { MetadataDb } from '../core/store/metadata/sqlite-metadata-db.ts';
import { parseAclFile } from './acl-file.ts';
import { parsePasswordFile } from './password-file.ts';
import { parseMosquittoHash } from './password-hash.ts';
import { parseOrThrow } from '../core/validation.ts';

export type ImportFile = 'passwordFile' | 'aclFile';

export interface ImportLineReport {
  file: ImportFile;
  line: number;
  status: 'imported' | 'rejected' | 'skipped';
  message: string;
}

export interface ImportProblem {
  file: ImportFile;
  line: number;
  reason: string;
}

export interface MosquittoImportResult {
  /** false when a rejected line stopped the import: nothing was written */
  committed: boolean;
  imported: { credentials: number; rules: number };
  rejected: ImportProblem[];
  /** lines that were understood but have no effect in dakkio (anonymous rules, users without credential) */
  skipped: ImportProblem[];
  /** every meaningful line of both files, in order, for the CLI and the UI */
  lines: ImportLineReport[];
}

export interface MosquittoImporterOptions {
  db: MetadataDb;
  clock: Clock;
  ids: IdGenerator;
  events: EventBus;
}

export interface MosquittoImporter {
  importMosquittoFiles(ownerId: string, input: MqttImportInput): Promise<MosquittoImportResult>;
}

export const ALLOW_ALL_RULES: readonly TopicRule[] = [{ type: 'topic', access: 'readwrite', filter: '#' }];

class RollBack extends Error {}

/** passwordFile lines first, then aclFile, each in line order */
const byFileAndLine = (a: ImportLineReport, b: ImportLineReport) =>
  a.file === b.file ? a.line - b.line : a.file === 'passwordFile' ? -1 : 1;

function describeHash(hash: string): string {
  const p = parseMosquittoHash(hash);
  if (!p.ok) return 'hash';
  if (p.value.kind === 'sha512-pbkdf2') return `$7$ PBKDF2-SHA512, ${p.value.iterations} iterations`;
  if (p.value.kind === 'sha512') return '$6$ salted SHA-512';
  return '$argon2id$';
}

const chunks = <T>(xs: T[], n: number): T[][] =>
  Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

export function createMosquittoImporter(opts: MosquittoImporterOptions): MosquittoImporter {
  const { db, clock, ids, events } = opts;

  return {
    async importMosquittoFiles(ownerId, rawInput) {
      const input = parseOrThrow(mqttImportSchema, rawInput, 'import request');
      const lines: ImportLineReport[] = [];
      const rejected: ImportProblem[] = [];
      const skipped: ImportProblem[] = [];
      const reject = (file: ImportFile, line: number, reason: string) => {
        rejected.push({ file, line, reason });
        lines.push({ file, line, status: 'rejected', message: reason });
      };
      const skip = (file: ImportFile, line: number, reason: string) => {
        skipped.push({ file, line, reason });
        lines.push({ file, line, status: 'skipped', message: reason });
      };

      const pw = input.passwordFile !== undefined ? parsePasswordFile(input.passwordFile) : null;
      const acl = input.aclFile !== undefined ? parseAclFile(input.aclFile) : null;
      for (const r of pw?.rejected ?? []) reject('passwordFile', r.line, r.reason);
      for (const r of acl?.rejected ?? []) reject('aclFile', r.line, r.reason);

      const changedIds: string[] = [];
      let credentials = 0;
      let rules = 0;
      const now = clock.now();

      try {
        await db.transaction().execute(async (trx) => {
          // 1. password_file → credentials
          const entries = pw?.entries ?? [];
          const existing = new Map<string, { id: string; owner_id: string }>();
          for (const part of chunks(
            entries.map((e) => e.username),
            500,
          )) {
            const rows = await trx
              .selectFrom('mqtt_credentials')
              .select(['id', 'owner_id', 'username'])
              .where('username', 'in', part)
              .execute();
            for (const r of rows) existing.set(r.username, r);
          }
          for (const e of entries) {
            const found = existing.get(e.username);
            if (found && found.owner_id !== ownerId) {
              reject('passwordFile', e.line, `username ${e.username} is already used by another account`);
              continue;
            }
            if (found) {
              await trx
                .updateTable('mqtt_credentials')
                .set({ password_hash: e.passwordHash, updated_at: now })
                .where('id', '=', found.id)
                .execute();
              changedIds.push(found.id);
            } else {
              await trx
                .insertInto('mqtt_credentials')
                .values({
                  id: ids(),
                  owner_id: ownerId,
                  username: e.username,
                  password_hash: e.passwordHash,
                  rules: JSON.stringify(acl ? [] : ALLOW_ALL_RULES),
                  created_at: now,
                  updated_at: now,
                })
                .execute();
            }
            credentials++;
            const verb = found ? 'replaced the password of' : 'created';
            lines.push({
              file: 'passwordFile',
              line: e.line,
              status: 'imported',
              message: `${verb} credential ${e.username} (${describeHash(e.passwordHash)})`,
            });
          }

          // 2. acl_file → rules of every credential of the owner
          if (acl) {
            const { ruleset, ruleLines } = acl;
            const owned = await trx
              .selectFrom('mqtt_credentials')
              .select(['id', 'username'])
              .where('owner_id', '=', ownerId)
              .execute();
            const byName = new Map(owned.map((r) => [r.username, r.id]));
            for (const r of ruleset.anonymous) {
              skip('aclFile', ruleLines.get(r) ?? 0, 'rule for anonymous clients: dakkio refuses anonymous MQTT connections');
            }
            for (const [username, userRules] of ruleset.users) {
              if (byName.has(username)) continue;
              for (const r of userRules) {
                skip('aclFile', ruleLines.get(r) ?? 0, `no MQTT credential named ${username}`);
              }
            }
            for (const c of owned) {
              const own = ruleset.users.get(c.username) ?? [];
              const all = [...own, ...ruleset.patterns];
              await trx
                .updateTable('mqtt_credentials')
                .set({ rules: JSON.stringify(all), updated_at: now })
                .where('id', '=', c.id)
                .execute();
              if (!changedIds.includes(c.id)) changedIds.push(c.id);
              for (const r of own) {
                rules++;
                lines.push({
                  file: 'aclFile',
                  line: ruleLines.get(r) ?? 0,
                  status: 'imported',
                  message: `topic ${r.access} ${r.filter} for ${c.username}`,
                });
              }
            }
            for (const r of ruleset.patterns) {
              if (owned.length === 0) {
                skip('aclFile', ruleLines.get(r) ?? 0, 'pattern: no MQTT credential to apply it to');
                continue;
              }
              rules++;
              lines.push({
                file: 'aclFile',
                line: ruleLines.get(r) ?? 0,
                status: 'imported',
                message: `pattern ${r.access} ${r.filter} for all ${owned.length} credentials`,
              });
            }
          }
          if (rejected.length > 0 && !input.partial) throw new RollBack();
        });
      } catch (err) {
        if (!(err instanceof RollBack)) throw err;
        return {
          committed: false,
          imported: { credentials: 0, rules: 0 },
          rejected,
          skipped,
          lines: lines.filter((l) => l.status !== 'imported').sort(byFileAndLine),
        };
      }

      for (const id of changedIds) {
        await events.publish({ type: 'mqtt-credential.changed', credentialId: id, ownerId });
      }
      lines.sort(byFileAndLine);
      return { committed: true, imported: { credentials, rules }, rejected, skipped, lines };
    },
  };
}
