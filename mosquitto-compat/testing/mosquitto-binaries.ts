/**
 * Test support: locate the Debian Mosquitto binaries. Under CI=true a missing
 * binary fails loudly; on a laptop the tests skip with a visible reason.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';
export const MOSQUITTO_PASSWD_BIN = process.env.MOSQUITTO_PASSWD_BIN ?? '/usr/bin/mosquitto_passwd';

export interface BinaryAvailability {
  available: boolean;
  reason: string;
}

export function requireBinary(path: string): BinaryAvailability {
  if (existsSync(path)) return { available: true, reason: '' };
  const reason = `${path} not found (apt-get install mosquitto mosquitto-clients)`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  // biome-ignore lint/suspicious/noConsole: the skip reason must be visible on a laptop
  console.warn(`skipping: ${reason}`);
  return { available: false, reason };
}

/** Runs mosquitto_passwd in batch mode, adding or replacing `username` in `file`. */
export function mosquittoPasswd(
  file: string,
  username: string,
  password: string,
  opts: { create?: boolean; algorithm?: 'sha512' | 'sha512-pbkdf2'; iterations?: number } = {},
): void {
  const args: string[] = [];
  if (opts.algorithm) args.push('-H', opts.algorithm);
  if (opts.iterations !== undefined) args.push('-I', String(opts.iterations));
  if (opts.create) args.push('-c');
  args.push('-b', file, username, password);
  execFileSync(MOSQUITTO_PASSWD_BIN, args, { stdio: 'pipe' });
}
