/**
 * dakkio as a client of an existing broker: a real Mosquitto is the upstream,
 * configured over HTTP; messages are mapped to readings and acknowledged only
 * after the commit, so killing dakkio (SIGKILL, a separate process) mid-stream and
 * starting it again stores every message published at QoS 1 meanwhile exactly once
 * (the upstream queues for the persistent session; the payloads carry their
 * timestamp, so a redelivered message lands on the same point).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOSQUITTO_BIN, MOSQUITTO_PASSWD_BIN, mosquittoPasswd, requireBinary } from '../mosquitto-compat/testing/mosquitto-binaries.ts';
import { type MosquittoServer, startMosquitto } from '../mosquitto-compat/testing/mosquitto-server.ts';
import { createApiClient } from './harness/api-client.ts';
import { type ChildDakkio, childEnv, startChildDakkio } from './harness/child-dakkio.ts';
import { mosquittoClientsMissing, mosquittoPub } from './mosquitto-clients.ts';

const missing =
  mosquittoClientsMissing() ??
  (requireBinary(MOSQUITTO_BIN).available && requireBinary(MOSQUITTO_PASSWD_BIN).available ? null : 'mosquitto missing');
if (missing) console.warn(`skipping mosquitto upstream tests: ${missing}`);

/** Polls until `check` holds; the test timeout bounds it (nothing is asserted about speed). */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50));
}

// an hour ago: inside the default query window (the last 24 h)
const T0 = Date.now() - 3_600_000;
const N = 30;

describe.skipIf(missing !== null)('an upstream Mosquitto, configured over HTTP', () => {
  let upstream: MosquittoServer;
  let dakkio: ChildDakkio | null = null;
  let dataDir: string;
  let token: string;
  let readKey: string;
  let bucketId: string;
  const api = () => createApiClient(dakkio!.baseUrl);
  const env = () => childEnv(dataDir);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'dakkio-upstream-'));
    const pwDir = mkdtempSync(join(tmpdir(), 'dakkio-up-pw-'));
    mosquittoPasswd(join(pwDir, 'pw'), 'dakkio', 'upstream-pw', { create: true });
    const passwordFile = readFileSync(join(pwDir, 'pw'), 'utf8');
    rmSync(pwDir, { recursive: true, force: true });
    // devices publish anonymously; dakkio logs in with its own account
    upstream = await startMosquitto({ passwordFile, allowAnonymous: true });
    dakkio = await startChildDakkio(env());
    const reg = await api()('POST', '/api/auth/register', { body: { email: 'up@example.com', password: 'correct horse battery' } });
    token = reg.body.token;
    bucketId = (await api()('POST', '/api/buckets', { token, body: { name: 'factory' } })).body.id;
    readKey = (await api()('POST', '/api/keys', { token, body: { name: 'reader', permissions: ['read'] } })).body.secret;
    const m = await api()('POST', '/api/mqtt/topic-mappings', {
      token,
      body: { filter: 'factory/+', bucketId, dataSource: '{2}', payload: 'json', createSources: true },
    });
    expect(m.status, m.text).toBe(201);
  });
  afterAll(async () => {
    await dakkio?.stop('SIGKILL');
    await upstream?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const values = async (): Promise<number[]> => {
    const r = await api()('GET', `/api/data?bucketId=${bucketId}&metrics=count&limit=1000`, { apiKey: readKey });
    if (r.status !== 200) return [];
    return (r.body.series as { points: [string, number][] }[]).flatMap((s) => s.points.map((p) => p[1]));
  };
  const publish = async (i: number) => {
    const body = JSON.stringify({ count: i, timestamp: T0 + i * 1000 });
    const r = await mosquittoPub({ port: upstream.port, clientId: `press-${i}` }, 'factory/press1', body, 1);
    expect(r.code, r.stderr).toBe(0);
  };

  it('stores every QoS 1 message exactly once across a SIGKILL of dakkio; status over HTTP', async () => {
    const created = await api()('POST', '/api/mqtt/upstreams', {
      token,
      body: {
        url: upstream.url,
        username: 'dakkio',
        password: 'upstream-pw',
        clientId: 'dakkio-factory',
        subscriptions: [{ filter: 'factory/#', qos: 1 }],
      },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).not.toHaveProperty('password');
    const id = created.body.id as string;
    const status = async () => (await api()('GET', `/api/mqtt/upstreams/${id}`, { token })).body.status;
    // the persistent session exists upstream once the SUBACK came back
    await until(async () => (await status()).subscribed === true);

    for (let i = 1; i <= 10; i++) await publish(i);
    await until(async () => (await values()).length >= 5);
    await dakkio!.stop('SIGKILL');
    // dakkio is gone: the upstream queues these for its session
    for (let i = 11; i <= N; i++) await publish(i);
    dakkio = await startChildDakkio(env());

    await until(async () => (await values()).length >= N);
    const got = (await values()).sort((a, b) => a - b);
    expect(got).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    await until(async () => (await status()).connected === true);
    const s = await status();
    expect(s).toMatchObject({ connected: true, lastError: null });
    expect(s.messages).toBeGreaterThan(0);
    const list = await api()('GET', '/api/mqtt/upstreams', { token });
    expect(list.body.items).toEqual([expect.objectContaining({ id, hasPassword: true, status: expect.objectContaining({ connected: true }) })]);
  }, 120_000);
});
