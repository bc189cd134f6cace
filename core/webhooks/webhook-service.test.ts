import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../clock.ts';
import { createIdGenerator } from '../ids.ts';
import { enqueueDeliveries } from './outbox.ts';
import { createTestDb } from './test-db.ts';
import { createWebhookService } from './webhook-service.ts';

const owner = 'a'.repeat(24);
const other = 'b'.repeat(24);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function setup() {
  const db = await createTestDb(':memory:', owner);
  await db.insertInto('users').values({ id: other, email: 'o@example.com', name: null, password_hash: 'x', created_at: 0, sessions_valid_after: 0 }).execute();
  cleanups.push(() => db.destroy());
  const clock = createManualClock();
  let woken = 0;
  const service = createWebhookService({
    db,
    clock,
    ids: createIdGenerator(clock.now),
    allowPrivate: false,
    resolveHost: async () => ['93.184.215.14'],
    onEnqueued: () => {
      woken++;
    },
  });
  return { db, clock, service, woken: () => woken };
}

describe('webhook service', () => {
  it('a replayed enqueue of the same event never doubles a delivery', async () => {
    const { service, db, clock } = await setup();
    const { webhook } = await service.create(owner, { url: 'https://hooks.example.com/in', events: ['alert.firing'] });
    const ids = createIdGenerator(clock.now);
    const req = { ownerId: owner, webhookIds: [webhook.id, 'f'.repeat(24)], type: 'alert.firing', sourceId: 'e'.repeat(24), body: '{}', now: clock.now() };
    expect(await enqueueDeliveries(db, ids, req)).toHaveLength(1);
    expect(await enqueueDeliveries(db, ids, req)).toHaveLength(0);
    expect(await enqueueDeliveries(db, ids, { ...req, type: 'alert.resolved', sourceId: 'd'.repeat(24) })).toHaveLength(0); // filtered out
    expect(await db.selectFrom('webhook_deliveries').select('id').execute()).toHaveLength(1);
  });

  it('deleting a webhook removes it from the rules that named it', async () => {
    const { service, db } = await setup();
    const { webhook } = await service.create(owner, { url: 'https://hooks.example.com/in', events: ['alert.firing'] });
    await db.insertInto('buckets').values({ id: 'c'.repeat(24), owner_id: owner, name: 'b', description: null, retention_days: null, created_at: 0 }).execute();
    await db
      .insertInto('alert_rules')
      .values({ id: '1'.repeat(24), owner_id: owner, bucket_id: 'c'.repeat(24), name: 'r', data_source_id: null, metric: 'm', condition_op: '>', condition: '{"op":">","value":1}', for_seconds: 0, webhook_ids: JSON.stringify([webhook.id, '2'.repeat(24)]), enabled: 1, created_at: 0, updated_at: 0 })
      .execute();
    await service.delete(owner, webhook.id);
    const rule = await db.selectFrom('alert_rules').select('webhook_ids').executeTakeFirstOrThrow();
    expect(JSON.parse(rule.webhook_ids)).toEqual(['2'.repeat(24)]);
  });

  it('creates with a once-shown secret and never returns it again', async () => {
    const { service, db } = await setup();
    const { webhook, secret } = await service.create(owner, { url: 'https://hooks.example.com/in', events: ['alert.firing'], description: 'ops' });
    expect(secret).toMatch(/^whsec_/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(24);
    expect(webhook).toEqual({ id: webhook.id, url: 'https://hooks.example.com/in', events: ['alert.firing'], description: 'ops', createdAt: webhook.createdAt, updatedAt: webhook.updatedAt });
    expect(JSON.stringify(await service.get(owner, webhook.id))).not.toContain(secret);
    expect(JSON.stringify(await service.list(owner))).not.toContain('whsec_');
    expect((await db.selectFrom('webhooks').select('secret').executeTakeFirstOrThrow()).secret).toBe(secret);
  });

  it("hides another owner's webhook as not_found", async () => {
    const { service } = await setup();
    const { webhook } = await service.create(owner, { url: 'https://hooks.example.com/in', events: ['alert.firing'] });
    for (const call of [
      () => service.get(other, webhook.id),
      () => service.update(other, webhook.id, { description: 'x' }),
      () => service.delete(other, webhook.id),
      () => service.listDeliveries(other, webhook.id),
      () => service.sendTest(other, webhook.id),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'not_found' });
    }
    expect((await service.list(other)).items).toEqual([]);
  });

  it('validates bodies with zod', async () => {
    const { service } = await setup();
    await expect(service.create(owner, { url: 'https://hooks.example.com/in', events: [] })).rejects.toMatchObject({ code: 'validation_failed', details: [{ path: 'events' }] });
    await expect(service.create(owner, { url: 'https://hooks.example.com/in', events: ['nope' as 'alert.firing'] })).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('updates, lists with pagination, deletes', async () => {
    const { service, clock } = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      ids.push((await service.create(owner, { url: `https://hooks.example.com/${i}`, events: ['alert.resolved'] })).webhook.id);
    }
    const first = await service.list(owner, { limit: 2 });
    expect(first.items.map((w) => w.id)).toEqual(ids.slice(0, 2));
    const second = await service.list(owner, { limit: 2, cursor: first.nextCursor });
    expect(second.items.map((w) => w.id)).toEqual(ids.slice(2));
    expect(second.nextCursor).toBeNull();
    const updated = await service.update(owner, ids[0]!, { events: ['alert.firing', 'alert.resolved'], description: null });
    expect(updated.events).toEqual(['alert.firing', 'alert.resolved']);
    await service.delete(owner, ids[0]!);
    await expect(service.get(owner, ids[0]!)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('sendTest enqueues a pending delivery, listed newest first with pagination', async () => {
    const { service, clock, woken } = await setup();
    const { webhook } = await service.create(owner, { url: 'https://hooks.example.com/in', events: ['alert.firing'] });
    const sent = [];
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      sent.push(await service.sendTest(owner, webhook.id));
    }
    expect(woken()).toBe(3);
    expect(sent[0]).toMatchObject({ event: 'webhook.test', status: 'pending', attempts: 0, lastStatusCode: null, deliveredAt: null });
    const page1 = await service.listDeliveries(owner, webhook.id, { limit: 2 });
    expect(page1.items.map((d) => d.id)).toEqual([sent[2]!.id, sent[1]!.id]);
    const page2 = await service.listDeliveries(owner, webhook.id, { limit: 2, cursor: page1.nextCursor });
    expect(page2.items.map((d) => d.id)).toEqual([sent[0]!.id]);
    expect(page2.nextCursor).toBeNull();
    await expect(service.listDeliveries(owner, webhook.id, { cursor: 'garbage' })).rejects.toMatchObject({ code: 'validation_failed' });
  });
});
