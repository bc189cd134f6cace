/**
 * `dakkio mosquitto import --password-file F --acl-file F --owner EMAIL [--partial]`:
 * reads the files, imports them for the owner (all-or-nothing unless --partial)
 * and prints one line per file line saying what was imported, skipped or rejected
 * and why. The composition root supplies the deps (database, importer).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isDakkioError } from '../core/errors.ts';
import type { MetadataDb } from '../core/store/metadata/sqlite-metadata-db.ts';
import type { MosquittoImporter, MosquittoImportResult } from './mosquitto-import.ts';

export interface MosquittoImportCliDeps {
  importer: MosquittoImporter;
  findUserIdByEmail(email: string): Promise<string | null>;
  /** default: fs.readFile as UTF-8 */
  readFile?: (path: string) => Promise<string>;
  out(line: string): void;
  err(line: string): void;
}

export const MOSQUITTO_IMPORT_USAGE =
  'usage: dakkio mosquitto import [--password-file FILE] [--acl-file FILE] --owner EMAIL [--partial]';

/** The users table lookup the CLI needs (emails are stored trimmed and lower-cased). */
export function userIdByEmail(db: MetadataDb): (email: string) => Promise<string | null> {
  return async (email) => {
    const row = await db
      .selectFrom('users')
      .select('id')
      .where('email', '=', email.trim().toLowerCase())
      .executeTakeFirst();
    return row?.id ?? null;
  };
}

/** `argv` is what follows `dakkio mosquitto` (a leading "import" is accepted). Returns the exit code. */
export async function runMosquittoImportCli(argv: readonly string[], deps: MosquittoImportCliDeps): Promise<number> {
  const args = argv[0] === 'import' ? argv.slice(1) : [...argv];
  let values: { 'password-file'?: string; 'acl-file'?: string; owner?: string; partial?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        'password-file': { type: 'string' },
        'acl-file': { type: 'string' },
        owner: { type: 'string' },
        partial: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    deps.err(`dakkio: ${(e as Error).message}`);
    deps.err(MOSQUITTO_IMPORT_USAGE);
    return 2;
  }
  const passwordPath = values['password-file'];
  const aclPath = values['acl-file'];
  if (!values.owner || (passwordPath === undefined && aclPath === undefined)) {
    deps.err(MOSQUITTO_IMPORT_USAGE);
    return 2;
  }
  const read = deps.readFile ?? ((p: string) => readFile(p, 'utf8'));
  let passwordFile: string | undefined;
  let aclFile: string | undefined;
  try {
    if (passwordPath !== undefined) passwordFile = await read(passwordPath);
    if (aclPath !== undefined) aclFile = await read(aclPath);
  } catch (e) {
    deps.err(`dakkio: cannot read ${(e as NodeJS.ErrnoException).path ?? 'file'}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return 1;
  }
  const ownerId = await deps.findUserIdByEmail(values.owner);
  if (!ownerId) {
    deps.err(`dakkio: no user with email ${values.owner}`);
    return 1;
  }

  let result: MosquittoImportResult;
  try {
    result = await deps.importer.importMosquittoFiles(ownerId, {
      ...(passwordFile !== undefined ? { passwordFile } : {}),
      ...(aclFile !== undefined ? { aclFile } : {}),
      partial: values.partial ?? false,
    });
  } catch (e) {
    if (!isDakkioError(e)) throw e;
    deps.err(`dakkio: ${e.message}${e.details ? `: ${e.details.map((d) => d.message).join('; ')}` : ''}`);
    return 1;
  }
  const pathOf = { passwordFile: passwordPath, aclFile: aclPath };
  for (const l of result.lines) {
    deps.out(`${pathOf[l.file]}:${l.line}: ${l.status}: ${l.message}`);
  }
  if (!result.committed) {
    deps.err(
      `dakkio: nothing imported: ${result.rejected.length} line(s) rejected (fix them, or use --partial to import the rest)`,
    );
    return 1;
  }
  deps.out(
    `imported ${result.imported.credentials} credential(s) and ${result.imported.rules} rule(s)` +
      (result.rejected.length ? `; ${result.rejected.length} line(s) rejected` : '') +
      (result.skipped.length ? `; ${result.skipped.length} line(s) skipped` : ''),
  );
  return 0;
}
