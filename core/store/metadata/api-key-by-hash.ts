import type { Statement } from 'better-sqlite3';
import { type MetadataDb, sqliteHandleOf } from './sqlite-metadata-db.ts';
import type { ApiKeysTable } from './tables.ts';

/** The API key row whose secret hash, or previous hash (a rotation's grace), is `hash`. */
export type ApiKeyByHash = (hash: string) => Promise<ApiKeysTable | undefined>;

const SQL = 'select * from "api_keys" where "secret_hash" = ? or "previous_secret_hash" = ?';

/**
 * The lookup behind a key verification that missed the cache (core/auth/api-key-service.ts).
 *
 * Why not a kysely query on SQLite: a miss cost 40-50 us that way (the query builder ~25 us, better-sqlite3's
 * prepare on every call ~12 us) and one more turn through kysely's connection mutex, where every waiter wakes
 * at each unlock. The cache entries of a fleet that connected together expire together, 30 s later, so a
 * reconnect wave or a 2,000-client connect storm pays that for every client at once (bench/RESULTS.md, "Connect
 * storm, round 7"). On SQLite the statement is prepared once and run synchronously (~9.5 us). Any other database,
 * and a Kysely copy made with plugins (as the tests' counting fixture does), keeps the kysely query.
 *
 * Reading beside kysely's mutex is safe: better-sqlite3 runs one statement at a time on its one connection, and
 * a kysely transaction could be seen half-done only if it awaited other I/O between its statements while open;
 * none that writes api_keys does (a user's deletion cascades in a transaction of its own statements only).
 */
export function createApiKeyByHash(db: MetadataDb): ApiKeyByHash {
  const sqlite = sqliteHandleOf(db);
  if (!sqlite) {
    return (hash) =>
      db
        .selectFrom('api_keys')
        .selectAll()
        .where((eb) => eb.or([eb('secret_hash', '=', hash), eb('previous_secret_hash', '=', hash)]))
        .executeTakeFirst();
  }
  let stmt: Statement<[string, string], ApiKeysTable> | undefined;
  return async (hash) => {
    stmt ??= sqlite.prepare<[string, string], ApiKeysTable>(SQL);
    return stmt.get(hash, hash);
  };
}
