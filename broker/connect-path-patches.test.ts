/**
 * The two smaller connect-path patches (applied by patch-package on npm install,
 * see patches/README.md):
 * - patches/mqtt-packet+9.0.2.patch: the parser keeps its bytes in bl's plain
 *   BufferList instead of a BufferListStream, a Duplex stream built per connection
 *   that nothing ever piped or listened to;
 * - patches/aedes-persistence+11.0.0.patch: the memory persistence's outgoing
 *   stream, read by Aedes on every CONNECT, is no longer wrapped in a second
 *   Readable.
 * Each test fails on the unpatched package; every MQTT test exercises both.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';

// aedes-persistence is Aedes' dependency, not dakkio's: resolved from where Aedes is
const fromAedes = createRequire(fileURLToPath(import.meta.resolve('aedes')));
const versionOf = (pkg: string, req: NodeJS.Require) =>
  (JSON.parse(readFileSync(join(dirname(req.resolve(`${pkg}/package.json`)), 'package.json'), 'utf8')) as { version: string })
    .version;
const patchFor = (pkg: string, version: string) => fileURLToPath(new URL(`../patches/${pkg}+${version}.patch`, import.meta.url));

describe('mqtt-packet parser patch', () => {
  it('is written for the installed version', () => {
    const version = versionOf('mqtt-packet', createRequire(import.meta.url));
    // an upgrade needs the patch re-made (or dropped if upstream changed the parser)
    expect(readFileSync(patchFor('mqtt-packet', version), 'utf8')).toContain('new BufferList()');
  });

  it('keeps the parser’s bytes in a plain buffer list, not a stream', () => {
    const parser = mqttPacket.parser() as unknown as { _list: object };
    expect(parser._list, 'run npm install: its postinstall applies patches/ (patch-package)').not.toBeInstanceOf(
      Readable,
    );
    expect('pipe' in parser._list).toBe(false);
  });

  it('still parses packets split across chunks and several packets in one chunk', () => {
    const connect = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'c1', clean: true, keepalive: 30 });
    const ping = mqttPacket.generate({ cmd: 'pingreq' });
    const parser = mqttPacket.parser();
    const got: mqttPacket.Packet[] = [];
    parser.on('packet', (p) => got.push(p));
    for (const byte of connect) parser.parse(Buffer.from([byte]));
    parser.parse(Buffer.concat([ping, ping]));
    expect(got.map((p) => p.cmd)).toEqual(['connect', 'pingreq', 'pingreq']);
    expect((got[0] as mqttPacket.IConnectPacket).clientId).toBe('c1');
  });
});

describe('aedes-persistence outgoing stream patch', () => {
  const memory = fromAedes('aedes-persistence') as () => {
    asyncPersistence: { outgoingStream(client: { id: string }): unknown };
    outgoingStream(client: { id: string }): Readable;
  };

  it('is written for the installed version', () => {
    const version = versionOf('aedes-persistence', fromAedes);
    expect(readFileSync(patchFor('aedes-persistence', version), 'utf8')).toContain('outgoing instanceof Readable');
  });

  it('hands out the memory persistence’s own stream, not a second Readable around it', () => {
    const persistence = memory();
    const inner = Readable.from([]);
    persistence.asyncPersistence.outgoingStream = () => inner;
    expect(persistence.outgoingStream({ id: 'c' })).toBe(inner);
  });

  it('still turns a persistence’s async iterable into a stream', async () => {
    const persistence = memory();
    persistence.asyncPersistence.outgoingStream = async function* () {
      yield { topic: 'a' };
      yield { topic: 'b' };
    };
    const stream = persistence.outgoingStream({ id: 'c' });
    expect(stream).toBeInstanceOf(Readable);
    expect((await stream.toArray()).map((p: { topic: string }) => p.topic)).toEqual(['a', 'b']);
  });
});
