/** Test fixture: a migrated in-memory (or file) metadata DB with one user. */
import { createSqliteMetadataDb, type MetadataDb } from '../store/metadata/sqlite-metadata-db.ts';

export async function createTestDb(path = ':memory:', ownerId = 'a'.repeat(24)): Promise<MetadataDb> {
  const db = await createSqliteMetadataDb(path);
  await db
    .insertInto('users')
    .values({ id: ownerId, email: `${ownerId}@example.com`, name: null, password_hash: 'x', created_at: 0, sessions_valid_after: 0 })
    .onConflict((oc) => oc.doNothing())
    .execute();
  return db;
}
