import { accessSync, constants, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from './config.ts';

/** Creates the data dir if needed and proves it writable, or stops start-up naming DAKKIO_DATA_DIR. */
export function prepareDataDir(dir: string): string {
  const abs = resolve(dir);
  try {
    mkdirSync(abs, { recursive: true });
    accessSync(abs, constants.W_OK);
  } catch (err) {
    throw new ConfigError(
      'DAKKIO_DATA_DIR',
      `${abs} is not a writable folder (${(err as NodeJS.ErrnoException).code ?? err})`,
    );
  }
  return abs;
}
