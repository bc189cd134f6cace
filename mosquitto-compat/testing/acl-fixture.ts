/**
 * One acl_file and a table of (user, client id, action, topic) → expected result,
 * shared by the evaluator's table test and the differential test against the real
 * Mosquitto, so both are held to the same expectations.
 */
export const ACL_FIXTURE = `# rules before any user line: anonymous clients
topic read public/#

user alice
topic readwrite alice/#
topic read shared/#
topic deny shared/secret
topic write cmd/+/set

user bob
topic read #
topic deny alice/private/#
topic readwrite $foo/#

user carol
topic write sensors/#
topic read sensors/#
topic deny sensors/+/calib
topic read only/read
topic readwrite shared/+

user observer
topic readwrite #
topic readwrite $foo/#
topic readwrite $bar/#

pattern readwrite devices/%u/#
pattern read clients/%c/in
pattern write clients/%c/out
pattern deny devices/%u/locked
`;

export const FIXTURE_USERS = ['alice', 'bob', 'carol', 'dave', 'dan+x', 'observer'] as const;
export const FIXTURE_PASSWORD = (user: string) => `pw-${user}`;

export interface AclCase {
  username: string;
  clientId: string;
  action: 'write' | 'read';
  topic: string;
  allowed: boolean;
}

const c = (username: string, clientId: string, action: 'write' | 'read', topic: string, allowed: boolean): AclCase => ({
  username,
  clientId,
  action,
  topic,
  allowed,
});

export const ACL_CASES: AclCase[] = [
  c('alice', 'a1', 'write', 'alice/x', true),
  c('alice', 'a1', 'read', 'alice/x/y', true),
  c('alice', 'a1', 'write', 'alice', true),
  c('alice', 'a1', 'read', 'shared/a', true),
  c('alice', 'a1', 'read', 'shared/secret', false),
  c('alice', 'a1', 'write', 'shared/a', false),
  c('alice', 'a1', 'write', 'cmd/1/set', true),
  c('alice', 'a1', 'read', 'cmd/1/set', false),
  c('alice', 'a1', 'write', 'cmd/1/2/set', false),
  c('alice', 'a1', 'write', 'public/x', false),
  c('alice', 'a1', 'write', 'devices/alice/t', true),
  c('alice', 'a1', 'read', 'devices/alice/t', true),
  c('alice', 'a1', 'write', 'devices/alice/locked', false),
  c('alice', 'a1', 'write', 'devices/bob/t', false),
  c('alice', 'a1', 'read', 'clients/a1/in', true),
  c('alice', 'a1', 'write', 'clients/a1/in', false),
  c('alice', 'a1', 'write', 'clients/a1/out', true),
  c('alice', 'a1', 'read', 'clients/a2/in', false),
  c('bob', 'b1', 'read', 'anything/at/all', true),
  c('bob', 'b1', 'write', 'anything/at/all', false),
  c('bob', 'b1', 'read', 'alice/private/x', false),
  c('bob', 'b1', 'read', 'alice/public', true),
  c('bob', 'b1', 'read', '$foo/x', true),
  c('bob', 'b1', 'write', '$foo/x', true),
  c('bob', 'b1', 'read', '$bar/x', false),
  c('carol', 'c1', 'write', 'sensors/a/t', true),
  c('carol', 'c1', 'read', 'sensors/a/t', true),
  c('carol', 'c1', 'write', 'sensors/a/calib', false),
  c('carol', 'c1', 'read', 'sensors/a/calib', false),
  c('carol', 'c1', 'write', 'only/read', false),
  c('carol', 'c1', 'write', 'shared/x', true),
  c('carol', 'c1', 'write', 'shared/x/y', false),
  // dave has no section: only the patterns apply to him
  c('dave', 'd1', 'write', 'devices/dave/x', true),
  c('dave', 'd1', 'write', 'devices/dave', true),
  c('dave', 'd1', 'write', 'other', false),
  c('dave', 'd+1', 'write', 'devices/dave/x', false),
  c('dave', 'd+1', 'read', 'devices/dave/x', false),
  c('dave', 'd#1', 'write', 'devices/dave/x', false),
  // a username with a wildcard character gets nothing from patterns
  c('dan+x', 'dx', 'write', 'clients/dx/out', false),
  c('dan+x', 'dx', 'read', 'clients/dx/in', false),
];
