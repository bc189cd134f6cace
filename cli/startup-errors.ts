import { DakkioError } from '../core/errors.ts';
import { ConfigError } from './config.ts';

/**
 * One line a newcomer can act on, naming the setting to change. Errors that know
 * their setting (ConfigError, ListenError from http/ or broker/) say so themselves.
 */
export function describeStartupError(err: unknown): string {
  if (err instanceof ConfigError) return `invalid setting ${err.message}`;
  if (err instanceof Error && 'setting' in err && typeof err.setting === 'string') return err.message;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EACCES' || code === 'EROFS' || code === 'ENOTDIR') {
    return `the data dir is not writable (${code}); set DAKKIO_DATA_DIR to a writable folder`;
  }
  if (err instanceof DakkioError) return `${err.code}: ${err.message}`;
  return `start-up failed: ${err instanceof Error ? err.message : String(err)}`;
}
