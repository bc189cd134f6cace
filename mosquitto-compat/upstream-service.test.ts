import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../core/auth/testing/fixture.ts';
import { insertUser } from './testing/users.ts';
import { createUpstreamService, type UpstreamService } from './upstream-service.ts';

describe('upstream service', () => {
  let env: TestEnv;
  let svc: UpstreamService;
  let owner: string;
  let other: string;
  const changes: string[] = [];

  beforeEach(async () => {
    env = await createTestEnv();
    changes.length = 0;
    svc = createUpstreamService({ db: env.db, clock: env.clock, ids: env.ids, onChange: (id) => void changes.push(id) });
    owner = await insertUser(env, 'owner@example.com');
    other = await insertUser(env, 'other@example.com');
  });
  afterEach(() => env.close());

  it('creates, hides the password, updates, deletes, and tells the manager each time', async () => {
    const up = await svc.create(owner, {
      url: 'mqtt://broker.example:1883',
      username: 'bridge',
      password: 's3cret',
      clientId: 'dakkio-1',
      subscriptions: [{ filter: 'plant/#', qos: 1 }],
    });
    expect(up).toMatchObject({ username: 'bridge', hasPassword: true, enabled: true, clientId: 'dakkio-1' });
    expect(JSON.stringify(up)).not.toContain('s3cret');
    const patched = await svc.update(owner, up.id, { enabled: false, password: null });
    expect(patched).toMatchObject({ enabled: false, hasPassword: false });
    expect((await svc.list(owner)).items).toHaveLength(1);
    await svc.delete(owner, up.id);
    expect(changes).toEqual([up.id, up.id, up.id]);
    await expect(svc.get(owner, up.id)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('validates and keeps owners apart', async () => {
    const base = { url: 'mqtt://b:1883', clientId: 'c', subscriptions: [{ filter: 'a/#', qos: 1 as const }] };
    await expect(svc.create(owner, { ...base, url: 'http://b' })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(svc.create(owner, { ...base, subscriptions: [] })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(svc.create(owner, { ...base, subscriptions: [{ filter: 'a/#/b', qos: 1 }] })).rejects.toMatchObject({
      code: 'validation_failed',
    });
    const up = await svc.create(owner, base);
    await expect(svc.get(other, up.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(svc.update(other, up.id, { enabled: false })).rejects.toMatchObject({ code: 'not_found' });
  });
});
