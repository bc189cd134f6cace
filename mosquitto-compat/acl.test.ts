import { describe, expect, it } from 'vitest';
import type { TopicRule } from '../core/auth/principal.ts';
import { parseAclFile } from './acl-file.ts';
import { canPublish, canRead, canSubscribe, checkRules, rulesFor } from './acl-evaluate.ts';
import { ACL_CASES, ACL_FIXTURE } from './testing/acl-fixture.ts';
import { isValidFilter, isValidTopicName, topicMatches } from './topic-filter.ts';

describe('topicMatches (MQTT 3.1.1 §4.7, Mosquitto semantics)', () => {
  it.each([
    ['a/b', 'a/b', true],
    ['a/+', 'a/b', true],
    ['a/+', 'a/b/c', false],
    ['a/+', 'a/', true],
    ['a/+', 'a', false],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['#', 'a/b', true],
    ['#', '/a', true],
    ['+/+', '/a', true],
    ['+', '$SYS', false],
    ['#', '$SYS/broker', false],
    ['+/broker', '$SYS/broker', false],
    ['$SYS/#', '$SYS/broker', true],
    ['$SYS/+', '$SYS/broker', true],
    ['$foo', 'foo', false],
    ['a/b', 'a/b/', false],
    ['A/b', 'a/b', false],
  ])('%s vs %s → %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it('validates filters and topic names', () => {
    for (const f of ['#', '+', 'a/+/b', 'a/#', '/', '+/+/#', '$SYS/#']) expect(isValidFilter(f), f).toBe(true);
    for (const f of ['', 'a/#/b', 'a#', 'a/b+', '##', 'a/\u0000']) expect(isValidFilter(f), f).toBe(false);
    expect(isValidTopicName('a/b')).toBe(true);
    for (const t of ['', 'a/+', 'a/#']) expect(isValidTopicName(t), t).toBe(false);
  });
});

describe('parseAclFile', () => {
  it('builds the anonymous section, per-user rules and patterns', () => {
    const { ruleset, rejected } = parseAclFile(ACL_FIXTURE);
    expect(rejected).toEqual([]);
    expect(ruleset.anonymous).toEqual([{ type: 'topic', access: 'read', filter: 'public/#' }]);
    expect(ruleset.users.get('alice')?.length).toBe(4);
    expect(ruleset.patterns.map((p) => p.filter)).toEqual([
      'devices/%u/#',
      'clients/%c/in',
      'clients/%c/out',
      'devices/%u/locked',
    ]);
  });

  it('defaults to readwrite, tolerates extra spaces, reports bad lines with numbers', () => {
    const text = [
      'topic  a/b',
      'user   spaced name  ',
      'topic write   x/y ',
      'topic sometimes x',
      'topic read a/#/b',
      'user',
      'topic',
      'bogus line',
      '   # indented comment',
      'pattern deny %u/#',
    ].join('\n');
    const { ruleset, rejected, ruleLines } = parseAclFile(text);
    expect(ruleset.anonymous).toEqual([{ type: 'topic', access: 'readwrite', filter: 'a/b' }]);
    expect(ruleset.users.get('spaced name')).toEqual([{ type: 'topic', access: 'write', filter: 'x/y' }]);
    expect(ruleset.patterns).toEqual([{ type: 'pattern', access: 'deny', filter: '%u/#' }]);
    expect(rejected.map((r) => r.line)).toEqual([4, 5, 6, 7, 8]);
    expect(ruleLines.get(ruleset.patterns[0] as TopicRule)).toBe(10);
  });
});

describe('ACL evaluation mirrors mosquitto_acl_check_default', () => {
  const { ruleset } = parseAclFile(ACL_FIXTURE);

  it.each(ACL_CASES)('$username ($clientId) $action $topic → $allowed', (tc) => {
    const client = { username: tc.username, clientId: tc.clientId };
    const fn = tc.action === 'write' ? canPublish : canRead;
    expect(fn(ruleset, client, tc.topic)).toBe(tc.allowed);
    // the same result from the flattened per-credential rules dakkio stores
    expect(fn(rulesFor(ruleset, tc.username), client, tc.topic)).toBe(tc.allowed);
  });

  it('anonymous clients get the section before the first user line, and no %u patterns', () => {
    const anon = { username: null, clientId: 'anon1' };
    expect(canRead(ruleset, anon, 'public/news')).toBe(true);
    expect(canPublish(ruleset, anon, 'public/news')).toBe(false);
    expect(canRead(ruleset, anon, 'clients/anon1/in')).toBe(true);
    expect(canPublish(ruleset, anon, 'devices/%u/x')).toBe(false);
    // a named user does not inherit the anonymous section
    expect(canRead(ruleset, { username: 'dave', clientId: 'd' }, 'public/news')).toBe(false);
  });

  it('deny wins over an earlier allow; access must include the action', () => {
    const rules: TopicRule[] = [
      { type: 'topic', access: 'readwrite', filter: 'a/#' },
      { type: 'topic', access: 'read', filter: 'b/#' },
      { type: 'topic', access: 'write', filter: 'b/c' },
      { type: 'topic', access: 'deny', filter: 'a/secret' },
    ];
    const cl = { username: 'u', clientId: 'c' };
    expect(checkRules(rules, cl, 'a/secret', 'read')).toBe(false);
    expect(checkRules(rules, cl, 'a/other', 'write')).toBe(true);
    expect(checkRules(rules, cl, 'b/c', 'write')).toBe(true);
    expect(checkRules(rules, cl, 'b/d', 'write')).toBe(false);
    expect(checkRules([], cl, 'x', 'read')).toBe(false);
  });

  it('a user topic allow wins over a pattern deny (user rules are checked first)', () => {
    const rules: TopicRule[] = [
      { type: 'pattern', access: 'deny', filter: 'x/%u' },
      { type: 'topic', access: 'readwrite', filter: 'x/+' },
    ];
    expect(checkRules(rules, { username: 'u', clientId: 'c' }, 'x/u', 'write')).toBe(true);
  });

  it('substitutes %u/%c once, left to right', () => {
    const rules: TopicRule[] = [{ type: 'pattern', access: 'readwrite', filter: 'p/%u/%c' }];
    expect(checkRules(rules, { username: '%c', clientId: 'id' }, 'p/%c/id', 'write')).toBe(true);
    expect(checkRules(rules, { username: '%c', clientId: 'id' }, 'p/id/id', 'write')).toBe(false);
  });

  it('grants every valid subscription like Mosquitto 2.0 (filtering happens per message)', () => {
    expect(canSubscribe(ruleset, { username: 'alice', clientId: 'a' }, '#')).toBe(true);
    expect(canSubscribe(ruleset, { username: 'alice', clientId: 'a' }, 'a/#/b')).toBe(false);
  });
});
