/**
 * The differential conformance scenarios against the real Mosquitto: pins down
 * Mosquitto's observable behaviour (each scenario's `expected`). The same
 * scenarios run against dakkio with a `#`-rights credential in
 * test/mosquitto-conformance.test.ts; known differences are listed in README.md
 * ("Coming from Mosquitto").
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ConformanceTarget, openSession, type Session } from './testing/conformance/harness.ts';
import { SCENARIOS } from './testing/conformance/scenarios.ts';
import { MOSQUITTO_BIN, MOSQUITTO_PASSWD_BIN, mosquittoPasswd, requireBinary } from './testing/mosquitto-binaries.ts';
import { type MosquittoServer, startMosquitto } from './testing/mosquitto-server.ts';

const available = requireBinary(MOSQUITTO_BIN).available && requireBinary(MOSQUITTO_PASSWD_BIN).available;

describe.skipIf(!available)('conformance scenarios on the real Mosquitto', () => {
  let server: MosquittoServer;
  let target: ConformanceTarget;
  let session: Session | null = null;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dakkio-conf-'));
    mosquittoPasswd(join(dir, 'pw'), 'device', 'device-pw', { create: true, iterations: 1 });
    const passwordFile = readFileSync(join(dir, 'pw'), 'utf8');
    rmSync(dir, { recursive: true, force: true });
    server = await startMosquitto({
      passwordFile,
      aclFile: 'user device\ntopic readwrite #\ntopic readwrite $x/#\n',
    });
    target = { name: 'mosquitto', host: '127.0.0.1', port: server.port, username: 'device', password: 'device-pw' };
  });
  afterEach(async () => {
    await session?.close();
    session = null;
  });
  afterAll(async () => {
    await server?.close();
  });

  it.each(SCENARIOS.map((s, i) => ({ ...s, i })))('$name', async (scenario) => {
    session = openSession(target);
    const outcome = await scenario.run(session, `s${scenario.i}`);
    expect(outcome).toEqual(scenario.expected);
  });
});
