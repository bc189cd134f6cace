import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MODULE = fileURLToPath(new URL('./quiet-packet-debug.ts', import.meta.url));

/** Runs a script in a fresh node (its own module cache) and returns what it printed. */
function fresh(body: string, env: Record<string, string> = {}) {
  const script = `
    import { createRequire } from 'node:module';
    import { quietPacketDebug } from ${JSON.stringify(MODULE)};
    const require = createRequire(${JSON.stringify(MODULE)});
    ${body}
  `;
  const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, DEBUG: '', ...env },
    timeout: 30_000,
  });
  expect(out.stderr).not.toMatch(/Error/);
  return JSON.parse(out.stdout.trim());
}

describe('quietPacketDebug', () => {
  it("gives mqtt-packet's disabled loggers one shared no-op and leaves other namespaces alone; packets still parse", () => {
    const r = fresh(`
      const before = require(require.resolve('debug', { paths: [require.resolve('mqtt-packet')] }))('mqtt-packet:parser');
      const applied = quietPacketDebug();
      const debug = require(require.resolve('debug', { paths: [require.resolve('mqtt-packet')] }));
      const a = debug('mqtt-packet:parser'), b = debug('mqtt-packet:writeToStream'), other = debug('aedes:client');
      const mqtt = require('mqtt-packet');
      const parser = mqtt.parser();
      let topic = null;
      parser.on('packet', (p) => { topic = p.topic; });
      parser.parse(mqtt.generate({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 1, messageId: 7 }));
      console.log(JSON.stringify({ applied, beforeShared: before === debug('mqtt-packet:x'), shared: a === b, enabled: a.enabled,
        otherShared: other === a, otherHasNamespace: other.namespace, enable: typeof debug.enable, topic }));
    `);
    expect(r).toEqual({
      applied: true,
      beforeShared: false,
      shared: true,
      enabled: false,
      otherShared: false,
      otherHasNamespace: 'aedes:client',
      enable: 'function',
      topic: 'a/b',
    });
  });

  it('keeps the real loggers when DEBUG enables them, and changes nothing once mqtt-packet is loaded', () => {
    const enabled = fresh(
      `quietPacketDebug();
       const debug = require(require.resolve('debug', { paths: [require.resolve('mqtt-packet')] }));
       console.log(JSON.stringify({ enabled: debug('mqtt-packet:parser').enabled }));`,
      { DEBUG: 'mqtt-packet:*' },
    );
    expect(enabled).toEqual({ enabled: true });
    const late = fresh(`require('mqtt-packet'); console.log(JSON.stringify({ applied: quietPacketDebug() }));`);
    expect(late).toEqual({ applied: false });
  });
});
