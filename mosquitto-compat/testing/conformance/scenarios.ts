/**
 * MQTT 3.1.1 scenarios whose observable outcome must be the same on Mosquitto and
 * on dakkio's broker (issue 6, "differential conformance"). Each returns a plain
 * JSON-able outcome; `expected` is what Debian's Mosquitto 2.0 does.
 */
import { barrier, collect, connectEmptyIdPersistent, type Session, until, wasSessionPresent } from './harness.ts';

export interface Scenario {
  name: string;
  expected: unknown;
  run(s: Session, id: string): Promise<unknown>;
}

const payloads = (got: { payload: string }[]) => got.map((m) => m.payload);

export const SCENARIOS: Scenario[] = [
  {
    name: 'retained message: set, replace, clear',
    expected: { afterSet: [{ payload: 'a', retain: true }], afterReplace: [{ payload: 'b', retain: true }], afterClear: [] },
    async run(s, id) {
      const pub = await s.connect(`${id}-pub`);
      const topic = `ret/${id}`;
      const probe = async (n: string) => {
        const sub = await s.connect(`${id}-sub-${n}`);
        const got = collect(sub);
        await sub.subscribeAsync(['sentinel/#', topic], { qos: 1 });
        await barrier(pub, sub, `${id}-${n}`);
        return got.filter((m) => m.topic === topic).map((m) => ({ payload: m.payload, retain: m.retain }));
      };
      await pub.publishAsync(topic, 'a', { qos: 1, retain: true });
      const afterSet = await probe('1');
      await pub.publishAsync(topic, 'b', { qos: 1, retain: true });
      const afterReplace = await probe('2');
      await pub.publishAsync(topic, '', { qos: 1, retain: true });
      const afterClear = await probe('3');
      return { afterSet, afterReplace, afterClear };
    },
  },
  {
    name: 'QoS 0/1/2 delivery at min(publish, subscription) QoS',
    expected: {
      sub2: [['q0', 0], ['q1', 1], ['q2', 2]],
      sub1: [['q0', 0], ['q1', 1], ['q2', 1]],
    },
    async run(s, id) {
      const pub = await s.connect(`${id}-pub`);
      const sub2 = await s.connect(`${id}-s2`);
      const sub1 = await s.connect(`${id}-s1`);
      const got2 = collect(sub2);
      const got1 = collect(sub1);
      await sub2.subscribeAsync(`qos/${id}/#`, { qos: 2 });
      await sub1.subscribeAsync(`qos/${id}/#`, { qos: 1 });
      for (const q of [0, 1, 2] as const) await pub.publishAsync(`qos/${id}/q${q}`, `q${q}`, { qos: q });
      await until(sub2, () => got2.length === 3);
      await until(sub1, () => got1.length === 3);
      const shape = (g: typeof got2) => g.map((m) => [m.payload, m.qos]).sort();
      return { sub2: shape(got2), sub1: shape(got1) };
    },
  },
  {
    name: 'will published on abnormal disconnect only',
    expected: ['abnormal'],
    async run(s, id) {
      const obs = await s.connect(`${id}-obs`);
      const got = collect(obs);
      await obs.subscribeAsync([`will/${id}/#`, 'sentinel/#'], { qos: 1 });
      const normal = await s.connect(`${id}-n`, { will: { topic: `will/${id}/n`, payload: Buffer.from('normal'), qos: 1, retain: false } });
      const crash = await s.connect(`${id}-c`, { will: { topic: `will/${id}/c`, payload: Buffer.from('abnormal'), qos: 1, retain: false } });
      await normal.endAsync();
      crash.stream.destroy();
      await until(obs, () => got.some((m) => m.topic === `will/${id}/c`));
      // the normal client's DISCONNECT was processed before it reconnects with the same id
      const again = await s.connect(`${id}-n`);
      await barrier(again, obs, id);
      return payloads(got.filter((m) => m.topic.startsWith('will/')));
    },
  },
  {
    name: 'persistent session: offline QoS 1 queued, QoS 0 not, in order; session present',
    expected: { sessionPresent: true, received: ['m1', 'm2', 'm3'] },
    async run(s, id) {
      const opts = { clean: false } as const;
      const dev = await s.connect(`${id}-dev`, opts);
      await dev.subscribeAsync(`offline/${id}`, { qos: 1 });
      await dev.endAsync();
      const pub = await s.connect(`${id}-pub`);
      await pub.publishAsync(`offline/${id}`, 'm0-qos0', { qos: 0 });
      for (const m of ['m1', 'm2', 'm3']) await pub.publishAsync(`offline/${id}`, m, { qos: 1 });
      const back = await s.connect(`${id}-dev`, opts);
      const sessionPresent = wasSessionPresent(back);
      const got = collect(back);
      await back.subscribeAsync('sentinel/#', { qos: 1 });
      await until(back, () => got.filter((m) => m.topic === `offline/${id}`).length >= 3);
      await barrier(pub, back, id);
      return { sessionPresent, received: payloads(got.filter((m) => m.topic === `offline/${id}`)) };
    },
  },
  {
    name: 'unacknowledged QoS 1 message redelivered with DUP on reconnect',
    expected: { first: { payload: 'r1', dup: false }, again: [{ payload: 'r1', dup: true }] },
    async run(s, id) {
      const raw = await s.raw();
      raw.send({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: false,
        clientId: `${id}-dev`,
        keepalive: 30,
        ...credentials(s),
      });
      await raw.next('connack');
      raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `redeliver/${id}`, qos: 1 }] });
      await raw.next('suback');
      const pub = await s.connect(`${id}-pub`);
      await pub.publishAsync(`redeliver/${id}`, 'r1', { qos: 1 });
      const first = await raw.next('publish');
      // drop the connection without PUBACK
      raw.destroy();
      await raw.closed;
      const back = await s.connect(`${id}-dev`, { clean: false });
      await until(back, () => collect(back).length >= 1);
      await back.subscribeAsync('sentinel/#', { qos: 1 });
      await barrier(pub, back, id);
      const p = first.cmd === 'publish' ? first : null;
      return {
        first: { payload: p?.payload.toString(), dup: p?.dup },
        again: collect(back)
          .filter((m) => m.topic === `redeliver/${id}`)
          .map((m) => ({ payload: m.payload, dup: m.dup })),
      };
    },
  },
  {
    name: '+ and # matching; $ topics not matched by leading wildcards',
    expected: { hash: ['base', 'a/b', 'a/b/c'], plus: ['a/b'], dollar: ['$x'], wildcardGotDollar: false },
    async run(s, id) {
      const base = `m-${id}`;
      const pub = await s.connect(`${id}-pub`);
      const a = await s.connect(`${id}-hash`);
      const b = await s.connect(`${id}-plus`);
      const d = await s.connect(`${id}-dollar`);
      const w = await s.connect(`${id}-wild`);
      await a.subscribeAsync([`${base}/#`, 'sentinel/#'], { qos: 1 });
      await b.subscribeAsync([`${base}/+/b`, 'sentinel/#'], { qos: 1 });
      await d.subscribeAsync([`$x/${id}/#`, 'sentinel/#'], { qos: 1 });
      await w.subscribeAsync(['#', '+/+/+'], { qos: 1 });
      await pub.publishAsync(base, 'base', { qos: 1 });
      await pub.publishAsync(`${base}/a/b`, 'a/b', { qos: 1 });
      await pub.publishAsync(`${base}/a/b/c`, 'a/b/c', { qos: 1 });
      await pub.publishAsync(`$x/${id}/b`, '$x', { qos: 1 });
      await barrier(pub, a, `${id}-a`);
      await barrier(pub, b, `${id}-b`);
      await barrier(pub, d, `${id}-d`);
      await until(w, () => collect(w).some((m) => m.topic === `sentinel/${id}-d`));
      const only = (c: typeof a, prefix: string) => payloads(collect(c).filter((m) => m.topic.startsWith(prefix)));
      return {
        hash: only(a, base),
        plus: only(b, base),
        dollar: only(d, '$x/'),
        wildcardGotDollar: collect(w).some((m) => m.topic.startsWith('$')),
      };
    },
  },
  {
    name: 'overlapping subscriptions deliver one copy at the highest QoS',
    expected: [{ qos: 1 }],
    async run(s, id) {
      const pub = await s.connect(`${id}-pub`);
      const sub = await s.connect(`${id}-sub`);
      const got = collect(sub);
      await sub.subscribeAsync({ [`ov/${id}/#`]: { qos: 0 }, [`ov/${id}/+`]: { qos: 1 }, 'sentinel/#': { qos: 1 } });
      await pub.publishAsync(`ov/${id}/x`, 'x', { qos: 1 });
      await barrier(pub, sub, id);
      return got.filter((m) => m.topic === `ov/${id}/x`).map((m) => ({ qos: m.qos }));
    },
  },
  {
    name: 'unsubscribe stops delivery',
    expected: ['before'],
    async run(s, id) {
      const pub = await s.connect(`${id}-pub`);
      const sub = await s.connect(`${id}-sub`);
      const got = collect(sub);
      await sub.subscribeAsync([`un/${id}`, 'sentinel/#'], { qos: 1 });
      await pub.publishAsync(`un/${id}`, 'before', { qos: 1 });
      await until(sub, () => got.length === 1);
      await sub.unsubscribeAsync(`un/${id}`);
      await pub.publishAsync(`un/${id}`, 'after', { qos: 1 });
      await barrier(pub, sub, id);
      return payloads(got.filter((m) => m.topic === `un/${id}`));
    },
  },
  {
    name: 'session takeover closes the older connection',
    expected: { firstClosed: true, secondConnected: true },
    async run(s, id) {
      const first = await s.connect(`${id}-same`);
      const closed = new Promise<void>((resolve) => first.once('close', () => resolve()));
      const second = await s.connect(`${id}-same`);
      await closed;
      return { firstClosed: true, secondConnected: second.connected };
    },
  },
  {
    name: 'empty client id with clean session false is refused (0x02) [MQTT-3.1.3-8]',
    expected: { returnCode: 2 },
    async run(s) {
      const raw = await s.raw();
      raw.sendBytes(connectEmptyIdPersistent(s.target.username, s.target.password));
      const connack = await raw.next('connack');
      return { returnCode: connack.cmd === 'connack' ? connack.returnCode : null };
    },
  },
  {
    name: 'a wildcard in a PUBLISH topic closes the connection [MQTT-3.3.2-2]',
    expected: { closed: true, delivered: [] },
    async run(s, id) {
      const obs = await s.connect(`${id}-obs`);
      const got = collect(obs);
      await obs.subscribeAsync(['#'], { qos: 1 });
      const raw = await s.raw();
      raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `${id}-raw`, keepalive: 30, ...credentials(s) });
      await raw.next('connack');
      raw.send({ cmd: 'publish', topic: `wild/${id}/+`, payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false });
      await raw.closed;
      return { closed: true, delivered: payloads(got.filter((m) => m.topic.startsWith(`wild/${id}`))) };
    },
  },
  {
    name: 'keepalive expiry: silent client is disconnected and its will published',
    expected: ['gone'],
    async run(s, id) {
      const obs = await s.connect(`${id}-obs`);
      const got = collect(obs);
      await obs.subscribeAsync(`ka/${id}`, { qos: 1 });
      const raw = await s.raw();
      raw.send({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        clientId: `${id}-silent`,
        keepalive: 1,
        will: { topic: `ka/${id}`, payload: Buffer.from('gone'), qos: 1, retain: false },
        ...credentials(s),
      });
      await raw.next('connack');
      // no PINGREQ: the server must close within 1.5 × keepalive [MQTT-3.1.2-24]
      await raw.closed;
      await until(obs, () => got.length === 1);
      return payloads(got);
    },
  },
];

function credentials(s: Session): { username: string; password: Buffer } {
  return { username: s.target.username, password: Buffer.from(s.target.password) };
}
