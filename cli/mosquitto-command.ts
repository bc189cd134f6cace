/**
 * `dakkio mosquitto import ...`: runs against the metadata database in
 * DAKKIO_DATA_DIR (stop-the-world is not needed: SQLite WAL lets a running dakkio
 * keep serving while the import commits in one transaction).
 */
import { join, resolve } from 'node:path';
import { systemClock } from '../core/clock.ts';
import { createLocalEventBus } from '../core/event-bus-local.ts';
import { createIdGenerator } from '../core/ids.ts';
import { createSqliteMetadataDb } from '../core/store/metadata/sqlite-metadata-db.ts';
import { MOSQUITTO_IMPORT_USAGE, runMosquittoImportCli, userIdByEmail } from '../mosquitto-compat/import-cli.ts';
import { createMosquittoImporter } from '../mosquitto-compat/mosquitto-import.ts';
import type { Config } from './config.ts';

export async function runMosquittoCommand(argv: string[], config: Config): Promise<number> {
  if (argv[0] !== 'import') {
    process.stderr.write(`${MOSQUITTO_IMPORT_USAGE}\n`);
    return 2;
  }
  const db = await createSqliteMetadataDb(join(resolve(config.dataDir), 'dakkio.db'), {
    synchronous: config.sqliteSynchronous,
  });
  const events = createLocalEventBus();
  try {
    const importer = createMosquittoImporter({ db, clock: systemClock, ids: createIdGenerator(), events });
    return await runMosquittoImportCli(argv, {
      importer,
      findUserIdByEmail: userIdByEmail(db),
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
    });
  } finally {
    await db.destroy();
  }
}
