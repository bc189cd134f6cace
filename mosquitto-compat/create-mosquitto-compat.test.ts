import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TEST_SCRYPT_PARAMS, hashPassword } from '../core/auth/passwords.ts';
import { createTestEnv, type TestEnv } from '../core/auth/testing/fixture.ts';
import { createDataSourceService } from '../core/data-sources/data-source-service.ts';
import { createIngestPipeline, type IngestPipeline } from '../core/ingest/ingest-pipeline.ts';
import { silentLogger } from '../core/logger.ts';
import { createMosquittoCompat, type MosquittoCompat } from './create-mosquitto-compat.ts';
import { MOSQUITTO_BIN, requireBinary } from './testing/mosquitto-binaries.ts';
import { type MosquittoServer, startMosquitto } from './testing/mosquitto-server.ts';
import { insertUser } from './testing/users.ts';

const available = requireBinary(MOSQUITTO_BIN).available;

describe('createMosquittoCompat', () => {
  let env: TestEnv;
  let pipeline: IngestPipeline;
  let compat: MosquittoCompat;
  let server: MosquittoServer | null = null;

  beforeEach(async () => {
    env = await createTestEnv();
    pipeline = createIngestPipeline({ store: env.readingStore, logger: silentLogger });
    const deps = { db: env.db, clock: env.clock, ids: env.ids, events: env.events, readingStore: env.readingStore };
    compat = createMosquittoCompat({
      ...deps,
      dataSources: createDataSourceService(deps),
      submit: (p) => pipeline.submit(p),
      hashPassword: (pw) => hashPassword(pw, TEST_SCRYPT_PARAMS),
      upstream: { backoff: { initialMs: 20, maxMs: 100 } },
    });
  });
  afterEach(async () => {
    await compat.close();
    await compat.close();
    await pipeline.close();
    await server?.close();
    await env.close();
  });

  it('authenticates a credential and checks its rules with Mosquitto semantics', async () => {
    const owner = await insertUser(env, 'o@example.com');
    await compat.credentials.create(owner, {
      username: 'dev',
      password: 'pw',
      rules: [
        { type: 'topic', access: 'readwrite', filter: 'home/#' },
        { type: 'pattern', access: 'read', filter: 'in/%c' },
      ],
    });
    const p = await compat.credentials.authenticate('dev', 'pw', 'c1');
    if (!p) throw new Error('expected a principal');
    const acl = compat.aclFor(p, { username: 'dev', clientId: 'c1' });
    expect(acl.canPublish('home/a')).toBe(true);
    expect(acl.canPublish('other')).toBe(false);
    expect(acl.canRead('in/c1')).toBe(true);
    expect(acl.canRead('in/c2')).toBe(false);
    expect(acl.canSubscribe('#')).toBe(true);
    expect(compat.aclFor({ rules: null }, { username: 'k', clientId: 'c' }).canPublish('home/a')).toBe(false);
  });

  it.skipIf(!available)('creating an upstream connects it; disabling disconnects it', async () => {
    server = await startMosquitto({ allowAnonymous: true });
    const owner = await insertUser(env, 'o@example.com');
    await compat.start();
    const up = await compat.upstreams.create(owner, {
      url: server.url,
      clientId: 'compat-up',
      subscriptions: [{ filter: 'x/#', qos: 1 }],
    });
    await vi.waitFor(() => expect(compat.upstreamManager.status(up.id)?.subscribed).toBe(true), { timeout: 20_000 });
    await compat.upstreams.update(owner, up.id, { enabled: false });
    expect(compat.upstreamManager.status(up.id)).toBeNull();
  });
});
