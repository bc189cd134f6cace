import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startReceiver } from '../../test/helpers/webhook-receiver.ts';
import { createManualClock } from '../clock.ts';
import { createIdGenerator } from '../ids.ts';
import { silentLogger } from '../logger.ts';
import type { MetadataDb } from '../store/metadata/sqlite-metadata-db.ts';
import { createTestDb } from './test-db.ts';
import { createWebhookDispatcher, type WebhookDispatcherOptions } from './webhook-dispatcher.ts';
import { createWebhookService } from './webhook-service.ts';

const owner = 'a'.repeat(24);
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(reply?: Parameters<typeof startReceiver>[0], opts: Partial<WebhookDispatcherOptions> & { dbPath?: string } = {}) {
  const receiver = await startReceiver(reply);
  cleanups.push(() => receiver.close());
  // manual clock that starts at real time, so standardwebhooks' 5-minute timestamp tolerance holds
  const clock = createManualClock(Date.now());
  const ids = createIdGenerator(clock.now);
  const db = await createTestDb(opts.dbPath);
  cleanups.push(() => db.destroy());
  const service = createWebhookService({ db, clock, ids, allowPrivate: true });
  const dispatcher = createWebhookDispatcher({ db, clock, logger: silentLogger, allowPrivate: true, pollIntervalMs: 0, ...opts });
  cleanups.push(() => dispatcher.close());
  const { webhook, secret } = await service.create(owner, { url: `${receiver.url}/hook`, events: ['alert.firing', 'alert.resolved'] });
  return { receiver, clock, ids, db, service, dispatcher, webhook, secret };
}

const verify = (secret: string, r: { body: string; headers: Record<string, string> }) => new Webhook(secret).verify(r.body, r.headers);

describe('webhook dispatcher', () => {
  it('delivers a signed test event that standardwebhooks verifies', async () => {
    const { receiver, service, dispatcher, webhook, secret } = await setup();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const pending = await service.sendTest(owner, webhook.id);
    expect(pending.status).toBe('pending');
    expect(await dispatcher.drain()).toBe(1);
    expect(receiver.received).toHaveLength(1);
    const req = receiver.received[0]!;
    expect(req.headers['webhook-id']).toBe(pending.id);
    expect(req.headers['webhook-timestamp']).toMatch(/^\d{10}$/);
    expect(req.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(req.headers['content-type']).toBe('application/json');
    expect(verify(secret, req)).toMatchObject({ type: 'webhook.test', data: { webhookId: webhook.id } });
    const { items } = await service.listDeliveries(owner, webhook.id);
    expect(items[0]).toMatchObject({ id: pending.id, status: 'delivered', attempts: 1, lastStatusCode: 200, lastError: null });
    const attempts = await service.listAttempts(owner, webhook.id, pending.id);
    expect(attempts).toMatchObject([{ attempt: 1, statusCode: 200, responseBody: 'ok 200' }]);
  });

  it('retries a 500 with backoff, same webhook-id, then delivers', async () => {
    const { receiver, clock, service, dispatcher, webhook, secret } = await setup((_r, i) => (i === 0 ? 500 : 200));
    const pending = await service.sendTest(owner, webhook.id);
    await dispatcher.drain();
    let d = (await service.listDeliveries(owner, webhook.id)).items[0]!;
    expect(d).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 500, lastError: 'HTTP 500' });
    // the second attempt is due ~5 s later (±20% jitter), not before
    expect(d.nextAttemptAt! - clock.now()).toBeGreaterThanOrEqual(4000);
    expect(d.nextAttemptAt! - clock.now()).toBeLessThanOrEqual(6000);
    expect(await dispatcher.drain()).toBe(0);
    clock.advance(6000);
    expect(await dispatcher.drain()).toBe(1);
    d = (await service.listDeliveries(owner, webhook.id)).items[0]!;
    expect(d).toMatchObject({ status: 'delivered', attempts: 2, lastStatusCode: 200 });
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([pending.id, pending.id]);
    for (const r of receiver.received) expect(() => verify(secret, r)).not.toThrow();
    const log = await service.listAttempts(owner, webhook.id, pending.id);
    expect(log.map((a) => a.statusCode)).toEqual([500, 200]);
  });

  it('times out a hanging receiver and retries', async () => {
    const { receiver, clock, service, dispatcher, webhook } = await setup((_r, i) => (i === 0 ? 'hang' : 200), { fetchTimeoutMs: 300 });
    await service.sendTest(owner, webhook.id);
    await dispatcher.drain();
    let d = (await service.listDeliveries(owner, webhook.id)).items[0]!;
    expect(d.status).toBe('pending');
    expect(d.lastStatusCode).toBeNull();
    expect(d.lastError).toMatch(/timeout/i);
    clock.advance(6000);
    await dispatcher.drain();
    d = (await service.listDeliveries(owner, webhook.id)).items[0]!;
    expect(d).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(receiver.received).toHaveLength(2);
  });

  it('marks a delivery failed when the schedule runs out', async () => {
    const { clock, service, dispatcher, webhook } = await setup(() => 503, { retryScheduleMs: [0, 1000, 1000] });
    await service.sendTest(owner, webhook.id);
    for (let i = 0; i < 3; i++) {
      await dispatcher.drain();
      clock.advance(2000);
    }
    const d = (await service.listDeliveries(owner, webhook.id)).items[0]!;
    expect(d).toMatchObject({ status: 'failed', attempts: 3, lastStatusCode: 503, nextAttemptAt: null });
  });

  it('does not follow a redirect (to loopback or anywhere)', async () => {
    const target = await startReceiver();
    cleanups.push(() => target.close());
    const { receiver, service, dispatcher, webhook } = await setup(() => ({ status: 302, headers: { location: `${target.url}/stolen` } }));
    await service.sendTest(owner, webhook.id);
    await dispatcher.drain();
    expect(receiver.received).toHaveLength(1);
    expect(target.received).toHaveLength(0);
    const d = (await service.listDeliveries(owner, webhook.id)).items[0]!;
    expect(d).toMatchObject({ status: 'pending', lastStatusCode: 302 });
  });

  it('delivers pending deliveries after a restart, exactly once each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dakkio-wh-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'meta.db');
    const first = await setup(undefined, { dbPath: path });
    const sent = [];
    for (let i = 0; i < 3; i++) sent.push((await first.service.sendTest(owner, first.webhook.id)).id);
    // one delivery was claimed by an attempt that "crashed": its lease must expire before a retry
    await first.db.updateTable('webhook_deliveries').set({ next_attempt_at: first.clock.now() + 45_000 }).where('id', '=', sent[2]!).execute();
    await first.dispatcher.close();
    await first.db.destroy();
    expect(first.receiver.received).toHaveLength(0);

    const db = await createTestDb(path);
    cleanups.push(() => db.destroy());
    const clock = createManualClock(Date.now());
    const dispatcher = createWebhookDispatcher({ db, clock, logger: silentLogger, allowPrivate: true, pollIntervalMs: 0 });
    cleanups.push(() => dispatcher.close());
    expect(await dispatcher.drain()).toBe(2);
    clock.advance(46_000);
    expect(await dispatcher.drain()).toBe(1);
    expect(await dispatcher.drain()).toBe(0);
    const ids = first.receiver.received.map((r) => r.headers['webhook-id']);
    expect([...ids].sort()).toEqual([...sent].sort());
    const rows = await db.selectFrom('webhook_deliveries').select(['status', 'attempts']).execute();
    expect(rows.every((r) => r.status === 'delivered' && Number(r.attempts) === 1)).toBe(true);
  });

  it('keeps only the first 4 KB of a response body', async () => {
    const { service, dispatcher, webhook } = await setup(() => ({ status: 200, body: 'x'.repeat(100_000) }));
    const d = await service.sendTest(owner, webhook.id);
    await dispatcher.drain();
    const [a] = await service.listAttempts(owner, webhook.id, d.id);
    expect(a?.responseBody).toHaveLength(4096);
  });

  it('a hanging receiver holds one slot, not the outbox', async () => {
    const slow = await startReceiver(() => 'hang');
    const { receiver, service, dispatcher, webhook, db, clock } = await setup(undefined, { fetchTimeoutMs: 60_000, pollIntervalMs: 0 });
    const other = createWebhookService({ db, clock, ids: createIdGenerator(clock.now), allowPrivate: true });
    const hung = await other.create(owner, { url: `${slow.url}/slow`, events: ['alert.firing'] });
    await service.sendTest(owner, hung.webhook.id);
    dispatcher.wake();
    await vi.waitFor(() => expect(slow.received).toHaveLength(1));
    await service.sendTest(owner, webhook.id);
    dispatcher.wake();
    await vi.waitFor(() => expect(receiver.received).toHaveLength(1));
    await slow.close(); // ends the hung attempt (connection reset) so close() can finish
    await dispatcher.close();
    const hungDelivery = (await service.listDeliveries(owner, hung.webhook.id)).items[0]!;
    expect(hungDelivery).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: null });
  });

  it('close() waits for an in-flight attempt', async () => {
    const { receiver, service, dispatcher, webhook, db } = await setup((_r, i) => (i === 0 ? 'hang' : 200), { fetchTimeoutMs: 200 });
    await service.sendTest(owner, webhook.id);
    const draining = dispatcher.drain();
    await vi.waitFor(() => expect(receiver.received).toHaveLength(1));
    await dispatcher.close();
    await draining;
    expect(receiver.received).toHaveLength(1);
    const row = await (db as MetadataDb).selectFrom('webhook_attempts').select('error').executeTakeFirst();
    expect(row?.error).toMatch(/timeout/i);
  });
});
