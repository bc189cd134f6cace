import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startReceiver } from '../../test/helpers/webhook-receiver.ts';
import { createManualClock } from '../clock.ts';
import { createLocalEventBus } from '../event-bus-local.ts';
import { createIdGenerator } from '../ids.ts';
import { silentLogger } from '../logger.ts';
import { createWebhookDispatcher } from '../webhooks/webhook-dispatcher.ts';
import { createWebhookService } from '../webhooks/webhook-service.ts';
import { createAlertEvaluator } from './alert-evaluator.ts';
import { createAlertRuleService } from './alert-rule-service.ts';
import { BUCKET, manualScheduler, OWNER, SRC_A, seedDb } from './alert-test-fixture.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('alert → webhook flow', () => {
  it('a crossing reading produces a signed webhook and an alert.event, woken without polling', async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const db = await seedDb();
    cleanups.push(() => db.destroy());
    const clock = createManualClock(Date.now());
    const ids = createIdGenerator(clock.now);
    const events = createLocalEventBus(silentLogger);
    cleanups.push(() => events.close());
    const published: Record<string, unknown>[] = [];
    events.subscribe('alert.event', (e) => {
      published.push({ bucketId: e.bucketId, ...e.payload });
    });
    const dispatcher = createWebhookDispatcher({ db, clock, logger: silentLogger, allowPrivate: true, pollIntervalMs: 0 });
    cleanups.push(() => dispatcher.close());
    const webhooks = createWebhookService({ db, clock, ids, events, allowPrivate: true, onEnqueued: () => dispatcher.wake() });
    const evaluator = createAlertEvaluator({ db, clock, logger: silentLogger, events, ids, scheduler: manualScheduler, onDeliveriesEnqueued: () => dispatcher.wake() });
    cleanups.push(() => evaluator.close());
    const rules = createAlertRuleService({ db, clock, ids, events });

    const { webhook, secret } = await webhooks.create(OWNER, { url: `${receiver.url}/alerts`, events: ['alert.firing'] });
    const rule = await rules.create(OWNER, BUCKET, { name: 'hot', metric: 'temp', condition: { op: '>', value: 30 }, webhookIds: [webhook.id] });
    evaluator.onCommitted([{ bucketId: BUCKET, dataSourceId: SRC_A, metric: 'temp', ts: clock.now(), value: 42 }]);
    evaluator.onCommitted([{ bucketId: BUCKET, dataSourceId: SRC_A, metric: 'temp', ts: clock.now() + 1, value: 10 }]);
    await evaluator.idle();

    await vi.waitFor(() => expect(receiver.received).toHaveLength(1));
    const req = receiver.received[0]!;
    const payload = new Webhook(secret).verify(req.body, req.headers);
    expect(payload).toMatchObject({ type: 'alert.firing', data: { ruleId: rule.id, bucketId: BUCKET, dataSourceId: SRC_A, state: 'firing', value: 42 } });
    // the webhook subscribes to firing only; both changes were published for MQTT
    expect(published.map((p) => p.state)).toEqual(['firing', 'resolved']);
    await vi.waitFor(async () => expect((await webhooks.listDeliveries(OWNER, webhook.id)).items[0]?.status).toBe('delivered'));
  });
});
