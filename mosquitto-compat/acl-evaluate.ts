/**
 * Evaluates Mosquitto-style topic rules with Mosquitto 2.0's precedence
 * (src/security_default.c mosquitto_acl_check_default):
 *  1. the client's own `topic` rules: `deny` rules first (any match denies), then
 *     the first rule whose filter matches and whose access includes the action allows;
 *  2. if there are `pattern` rules and the username or client id contains `+` or `#`,
 *     deny (a crafted id must not widen a pattern);
 *  3. `pattern` rules with %u/%c substituted (a %u pattern is skipped for a client
 *     without username), deny first, then first allowing match;
 *  4. otherwise deny.
 * `$` topics only match filters that begin with `$` (topicMatches).
 */
import type { TopicRule } from '../core/auth/principal.ts';
import type { AclRuleset } from './acl-file.ts';
import { isValidFilter, topicMatches } from './topic-filter.ts';

export interface AclClient {
  /** null for a client that connected without a username */
  username: string | null;
  clientId: string;
}

type Action = 'read' | 'write';

const grants = (rule: TopicRule, action: Action) => rule.access === 'readwrite' || rule.access === action;

function substitute(filter: string, client: AclClient): string {
  // One left-to-right pass, like Mosquitto, so a username containing "%c" is not expanded again.
  return filter.replace(/%([uc])/g, (m, which: string) => {
    if (which === 'c') return client.clientId;
    return client.username ?? m;
  });
}

function check(rules: readonly TopicRule[], topic: string, action: Action, expand?: AclClient): boolean | null {
  const resolve = (r: TopicRule) => (expand ? substitute(r.filter, expand) : r.filter);
  const usable = (r: TopicRule) => !(expand && expand.username === null && r.filter.includes('%u'));
  for (const r of rules) {
    if (r.access === 'deny' && usable(r) && topicMatches(resolve(r), topic)) return false;
  }
  for (const r of rules) {
    if (r.access !== 'deny' && usable(r) && grants(r, action) && topicMatches(resolve(r), topic)) return true;
  }
  return null;
}

/**
 * Access check over one credential's rules (its `topic` rules and the `pattern`
 * rules, as stored on a dakkio MQTT credential or API key).
 */
export function checkRules(rules: readonly TopicRule[], client: AclClient, topic: string, action: Action): boolean {
  const own = rules.filter((r) => r.type === 'topic');
  const patterns = rules.filter((r) => r.type === 'pattern');
  const first = check(own, topic, action);
  if (first !== null) return first;
  if (patterns.length === 0) return false;
  if (client.username !== null && /[+#]/.test(client.username)) return false;
  if (/[+#]/.test(client.clientId)) return false;
  return check(patterns, topic, action, client) ?? false;
}

/** The rules that apply to `client` under a whole parsed acl_file. */
export function rulesFor(ruleset: AclRuleset, username: string | null): TopicRule[] {
  const own = username === null ? ruleset.anonymous : (ruleset.users.get(username) ?? []);
  return [...own, ...ruleset.patterns];
}

export type RulesSource = AclRuleset | readonly TopicRule[];
const toRules = (src: RulesSource, client: AclClient): readonly TopicRule[] =>
  Array.isArray(src) ? (src as readonly TopicRule[]) : rulesFor(src as AclRuleset, client.username);

/** May the client publish to `topic`? (Mosquitto: a denied publish is acknowledged and dropped.) */
export function canPublish(src: RulesSource, client: AclClient, topic: string): boolean {
  return checkRules(toRules(src, client), client, topic, 'write');
}

/** May a message on `topic` be delivered to the client? Mosquitto checks this per delivered message. */
export function canRead(src: RulesSource, client: AclClient, topic: string): boolean {
  return checkRules(toRules(src, client), client, topic, 'read');
}

/**
 * Is a SUBSCRIBE to `filter` granted? Mosquitto 2.0's acl_file plugin does not check
 * subscriptions at all ("FIXME - implement ACL subscription strings"): every valid
 * filter is granted and denied topics are filtered on delivery by canRead. Kept that
 * way so migrated devices see the same SUBACK codes.
 */
export function canSubscribe(_src: RulesSource, _client: AclClient, filter: string): boolean {
  return isValidFilter(filter);
}
