import type { Subscription } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import { type ClientNotices, skipUnheardClientNotices } from './client-notices.ts';
import { type BareAedes, startBareAedes } from './testing/bare-aedes.ts';

describe('client notices ($SYS/<id>/new/clients, disconnect/clients)', () => {
  let aedes: BareAedes | undefined;
  afterEach(async () => {
    await aedes?.close();
    aedes = undefined;
  });

  /** A broker whose routed publishes are recorded; `guard` installs the wrapper as create-broker.ts does. */
  async function start(guard: boolean) {
    let notices: ClientNotices | undefined;
    aedes = await startBareAedes({
      authorizeSubscribe(_client, sub: Subscription, cb) {
        notices?.granted(sub.topic);
        cb(null, sub);
      },
    });
    const { broker } = aedes;
    if (guard) notices = skipUnheardClientNotices(broker);
    const routed: string[] = [];
    broker.on('publish', (p) => routed.push(p.topic));
    const connect = (clientId: string) => aedes!.connect({ clientId });
    return { routed, connect, notices, id: broker.id };
  }

  it('unguarded, Aedes routes a notice per connect and per disconnect (what the guard saves)', async () => {
    const { routed, connect, id } = await start(false);
    const c = await connect('a');
    await c.endAsync();
    await expect.poll(() => routed.filter((t) => t.includes('/clients'))).toEqual([`$SYS/${id}/new/clients`, `$SYS/${id}/disconnect/clients`]);
  });

  it('skips both notices while nobody holds a $SYS subscription; other publishes still route', async () => {
    const { routed, connect, notices } = await start(true);
    expect(notices?.skipping).toBe(true);
    const c = await connect('a');
    await c.publishAsync('x/y', 'z', { qos: 1 });
    await c.endAsync();
    await connect('b');
    expect(routed.filter((t) => t.includes('/clients'))).toEqual([]);
    expect(routed).toContain('x/y');
  });

  it('routes them again, for good, once a $SYS filter is granted', async () => {
    const { connect, notices, id } = await start(true);
    const watcher = await connect('watcher');
    const got: string[] = [];
    watcher.on('message', (topic, payload) => got.push(`${topic} ${payload}`));
    await watcher.subscribeAsync('$SYS/#');
    expect(notices?.skipping).toBe(false);
    await watcher.unsubscribeAsync('$SYS/#');
    await watcher.subscribeAsync('$SYS/+/new/clients');
    const c = await connect('late');
    await c.endAsync();
    await expect.poll(() => got).toContain(`$SYS/${id}/new/clients late`);
  });
});
