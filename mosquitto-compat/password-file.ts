/**
 * Parses a Mosquitto `password_file` (`username:hash` per line, `#` comments),
 * following src/security_default.c pwfile__parse: username and hash are trimmed,
 * the hash ends at the next `:`. Unlike Mosquitto, which logs and drops a bad
 * line at start-up, every problem is reported with its line number so an import
 * can show it.
 */
import { parseMosquittoHash } from './password-hash.ts';

export interface PasswordFileEntry {
  /** 1-based line number in the file */
  line: number;
  username: string;
  /** the stored hash exactly as in the file ($7$…, $6$… or $argon2id$…) */
  passwordHash: string;
}

export interface LineProblem {
  line: number;
  reason: string;
}

export interface ParsedPasswordFile {
  entries: PasswordFileEntry[];
  rejected: LineProblem[];
}

export const MAX_USERNAME_LENGTH = 65535;

export function parsePasswordFile(text: string): ParsedPasswordFile {
  const entries: PasswordFileEntry[] = [];
  const rejected: LineProblem[] = [];
  const seen = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '' || raw.startsWith('#')) return;
    const colon = raw.indexOf(':');
    if (colon < 0) {
      rejected.push({ line, reason: 'expected username:hash' });
      return;
    }
    const username = raw.slice(0, colon).trim();
    const rest = raw.slice(colon + 1);
    const next = rest.indexOf(':');
    const passwordHash = (next < 0 ? rest : rest.slice(0, next)).trim();
    if (username === '') {
      rejected.push({ line, reason: 'empty username' });
      return;
    }
    if (username.length > MAX_USERNAME_LENGTH) {
      rejected.push({ line, reason: 'username too long' });
      return;
    }
    if (passwordHash === '') {
      rejected.push({ line, reason: `missing password hash for user ${username}` });
      return;
    }
    const parsed = parseMosquittoHash(passwordHash);
    if (!parsed.ok) {
      rejected.push({ line, reason: `user ${username}: ${parsed.reason}` });
      return;
    }
    const first = seen.get(username);
    if (first !== undefined) {
      rejected.push({ line, reason: `duplicate user ${username} (first on line ${first})` });
      return;
    }
    seen.set(username, line);
    entries.push({ line, username, passwordHash });
  });
  return { entries, rejected };
}
