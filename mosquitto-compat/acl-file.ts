/**
 * Parses a Mosquitto `acl_file` the way Mosquitto 2.0 reads it (src/security_default.c
 * aclfile__parse): `#` comments, `user <name>` starts a user's section (the rest of
 * the line, trimmed, is the name), `topic [read|write|readwrite|deny] <filter>` adds
 * a rule to the current section (before any `user` line: the anonymous section),
 * `pattern [access] <filter>` adds a rule that applies to every client, with %u and
 * %c substituted. A missing access means readwrite. Mosquitto refuses to start on a
 * bad line; here each bad line is reported and the rest kept.
 */
import type { TopicRule } from '../core/auth/principal.ts';
import type { LineProblem } from './password-file.ts';
import { isValidFilter } from './topic-filter.ts';

export interface AclRuleset {
  /** rules of clients that connect without a username (the section before any `user` line) */
  anonymous: TopicRule[];
  /** per-username `topic` rules, in file order */
  users: Map<string, TopicRule[]>;
  /** `pattern` rules, for every client */
  patterns: TopicRule[];
}

export interface ParsedAclFile {
  ruleset: AclRuleset;
  /** the line each rule came from, for import reports */
  ruleLines: Map<TopicRule, number>;
  rejected: LineProblem[];
}

const ACCESS = new Set(['read', 'write', 'readwrite', 'deny']);

export function emptyRuleset(): AclRuleset {
  return { anonymous: [], users: new Map(), patterns: [] };
}

export function parseAclFile(text: string): ParsedAclFile {
  const ruleset = emptyRuleset();
  const ruleLines = new Map<TopicRule, number>();
  const rejected: LineProblem[] = [];
  let user: string | null = null;

  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.replace(/\s+$/, '');
    // Mosquitto splits on spaces only; tabs are part of tokens there, so they are here too.
    const body = trimmed.replace(/^ +/, '');
    if (body === '' || body.startsWith('#')) return;
    const sp = body.indexOf(' ');
    const keyword = sp < 0 ? body : body.slice(0, sp);
    const rest = sp < 0 ? '' : body.slice(sp + 1).replace(/^ +/, '');

    if (keyword === 'user') {
      const name = rest.trim();
      if (name === '') {
        rejected.push({ line, reason: 'missing username after "user"' });
        return;
      }
      user = name;
      if (!ruleset.users.has(name)) ruleset.users.set(name, []);
      return;
    }
    if (keyword !== 'topic' && keyword !== 'pattern') {
      rejected.push({ line, reason: `unknown keyword "${keyword}" (expected user, topic or pattern)` });
      return;
    }
    if (rest === '') {
      rejected.push({ line, reason: `empty ${keyword}` });
      return;
    }
    const sp2 = rest.indexOf(' ');
    let access: TopicRule['access'] = 'readwrite';
    let filter = rest;
    if (sp2 >= 0) {
      const accessText = rest.slice(0, sp2);
      if (!ACCESS.has(accessText)) {
        rejected.push({ line, reason: `invalid access "${accessText}" (read, write, readwrite or deny)` });
        return;
      }
      access = accessText as TopicRule['access'];
      filter = rest.slice(sp2 + 1).trim();
    }
    if (!isValidFilter(filter)) {
      rejected.push({ line, reason: `invalid topic filter "${filter}"` });
      return;
    }
    const rule: TopicRule = { type: keyword, access, filter };
    ruleLines.set(rule, line);
    if (keyword === 'pattern') ruleset.patterns.push(rule);
    else if (user === null) ruleset.anonymous.push(rule);
    else ruleset.users.get(user)?.push(rule);
  });
  return { ruleset, ruleLines, rejected };
}
