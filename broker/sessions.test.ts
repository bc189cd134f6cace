import { describe, expect, it } from 'vitest';
import type { DevicePrincipal } from '../core/auth/principal.ts';
import { systemClock } from '../core/clock.ts';
import { createSessionRegistry, type Session } from './sessions.ts';

const principal = (keyId: string, ownerId = 'owner-1'): DevicePrincipal =>
  ({
    kind: 'api-key',
    keyId,
    ownerId,
    permissions: ['write'],
    bucketIds: null,
    expiresAt: null,
    rules: null,
    secretFingerprint: 'f',
  }) as DevicePrincipal;

const session = (clientId: string, p: DevicePrincipal | null): Session => ({
  clientId,
  connection: { close() {} },
  principal: p,
  secret: undefined,
  ip: '127.0.0.1',
  lastVerifiedAt: 0,
  dropped: false,
  watched: undefined,
});

describe('session registry: sessions by key', () => {
  it('finds every session of a key however many share it, in any order of removal', () => {
    const reg = createSessionRegistry(systemClock);
    const [a, b, c] = ['a', 'b', 'c'].map((id) => session(id, principal('k1')));
    const other = session('o', principal('k2'));
    reg.add(a!);
    expect(reg.byKey('k1')).toEqual([a]);
    reg.add(b!);
    reg.add(c!);
    reg.add(other);
    expect(new Set(reg.byKey('k1'))).toEqual(new Set([a, b, c]));
    expect(reg.byKey('k2')).toEqual([other]);
    reg.remove(b!);
    expect(new Set(reg.byKey('k1'))).toEqual(new Set([a, c]));
    reg.remove(a!);
    expect(reg.byKey('k1')).toEqual([c]);
    // a second session of the same key after the first was collapsed back to one
    const d = session('d', principal('k1'));
    reg.add(d);
    expect(new Set(reg.byKey('k1'))).toEqual(new Set([c, d]));
    reg.remove(c!);
    reg.remove(d);
    reg.remove(d); // twice: nothing left to change
    expect(reg.byKey('k1')).toEqual([]);
    expect(reg.byKey('k2')).toEqual([other]);
    expect(reg.byKey('nope')).toEqual([]);
  });

  it('keeps anonymous sessions out of the key index, and byKey hands out a copy', () => {
    const reg = createSessionRegistry(systemClock);
    const anon = session('anon', null);
    const a = session('a', principal('k1'));
    reg.add(anon);
    reg.add(a);
    const list = reg.byKey('k1');
    list.pop();
    expect(reg.byKey('k1')).toEqual([a]);
    expect([...reg.all()]).toEqual([anon, a]);
    reg.remove(a);
    expect(reg.byClientId('a')).toBeUndefined();
    expect(reg.byClientId('anon')).toBe(anon);
  });
});

describe('session registry: watched buckets', () => {
  it('gives a session its watched set at its first subscription and forgets its buckets when it ends', () => {
    const reg = createSessionRegistry(systemClock);
    const a = session('a', principal('k1'));
    const b = session('b', principal('k2'));
    reg.add(a);
    reg.add(b);
    reg.remove(b); // never subscribed: nothing to forget
    expect(a.watched).toBeUndefined();
    reg.watch(a, 'bucket-1');
    reg.watch(a, 'bucket-1');
    reg.watch(a, 'bucket-2');
    expect([...(a.watched ?? [])]).toEqual(['bucket-1', 'bucket-2']);
    const c = session('c', principal('k3'));
    reg.add(c);
    reg.watch(c, 'bucket-1');
    reg.remove(a);
    expect(reg.hasWatchers('bucket-1')).toBe(true);
    expect(reg.hasWatchers('bucket-2')).toBe(false);
    reg.remove(c);
    expect(reg.hasWatchers('bucket-1')).toBe(false);
    // a session that is not (or no longer) registered watches nothing
    reg.watch(c, 'bucket-3');
    expect(reg.hasWatchers('bucket-3')).toBe(false);
  });
});
