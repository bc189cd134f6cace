import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../clock.ts';
import { BUCKET, createAlertHarness, OWNER, SRC_A, SRC_B, seedDb, T0, WEBHOOK } from './alert-test-fixture.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness(path?: string) {
  const db = await seedDb(path);
  cleanups.push(() => db.destroy());
  const h = await createAlertHarness(db);
  cleanups.push(() => h.close());
  return h;
}

const summary = (events: { state: string; dataSourceId: string; value: unknown; at: number }[]) =>
  events.map((e) => `${e.state}:${e.dataSourceId.slice(-1)}:${String(e.value)}@${(e.at - T0) / 1000}`);

describe('alert evaluator: thresholds', () => {
  it('fires once when crossed and resolves when back, with stored, published and webhook-enqueued events', async () => {
    const h = await harness();
    const rule = await h.rules.create(OWNER, BUCKET, { name: 'hot', dataSourceId: SRC_A, metric: 'temp', condition: { op: '>', value: 30 }, webhookIds: [WEBHOOK] });
    await h.ingest(SRC_A, 'temp', 25);
    await h.ingest(SRC_A, 'other', 99);
    await h.ingest(SRC_B, 'temp', 99); // another source: the rule is scoped to A
    h.clock.advance(1000);
    await h.ingest(SRC_A, 'temp', 31);
    h.clock.advance(1000);
    await h.ingest(SRC_A, 'temp', 35);
    h.clock.advance(1000);
    await h.ingest(SRC_A, 'temp', 29.5);
    expect(summary(await h.eventsList())).toEqual(['firing:a:31@1', 'resolved:a:29.5@3']);
    expect(h.published).toMatchObject([
      { ruleId: rule.id, ruleName: 'hot', bucketId: BUCKET, dataSourceId: SRC_A, metric: 'temp', state: 'firing', value: 31, at: new Date(T0 + 1000).toISOString() },
      { state: 'resolved', value: 29.5 },
    ]);
    const deliveries = await h.db.selectFrom('webhook_deliveries').select(['event', 'body', 'status']).orderBy('created_at').execute();
    expect(deliveries.map((d) => d.event).sort()).toEqual(['alert.firing', 'alert.resolved']);
    expect(JSON.parse(deliveries.find((d) => d.event === 'alert.firing')!.body)).toMatchObject({ type: 'alert.firing', data: { ruleId: rule.id, value: 31 } });
  });

  it('ignores points older than the newest one evaluated (replays, late batches)', async () => {
    const h = await harness();
    await h.rules.create(OWNER, BUCKET, { name: 'hot', metric: 'temp', condition: { op: '>=', value: 30 }, webhookIds: [] });
    await h.ingest(SRC_A, 'temp', 10, T0 + 5000);
    await h.ingest(SRC_A, 'temp', 50, T0 + 1000);
    expect(await h.eventsList()).toEqual([]);
  });

  it('with forSeconds fires only after the condition held that long (by reading or by timer)', async () => {
    const h = await harness();
    await h.rules.create(OWNER, BUCKET, { name: 'hot', metric: 'temp', condition: { op: '>', value: 30 }, forSeconds: 60, webhookIds: [] });
    // A: holds 30 s then dips: never fires
    await h.ingest(SRC_A, 'temp', 31, T0);
    await h.ingest(SRC_A, 'temp', 32, T0 + 30_000);
    await h.ingest(SRC_A, 'temp', 20, T0 + 45_000);
    // B: holds, and a reading 60 s after the start fires it
    await h.ingest(SRC_B, 'temp', 40, T0 + 10_000);
    await h.ingest(SRC_B, 'temp', 41, T0 + 69_999);
    expect(await h.eventsList()).toEqual([]);
    await h.ingest(SRC_B, 'temp', 42, T0 + 70_000);
    expect(summary(await h.eventsList())).toEqual(['firing:b:42@70']);
    // A again: starts holding at 100 s, then goes quiet; the timer fires it at 160 s
    await h.ingest(SRC_A, 'temp', 33, T0 + 100_000);
    h.clock.set(T0 + 159_000);
    await h.tick();
    expect(await h.eventsList()).toHaveLength(1);
    h.clock.set(T0 + 161_000);
    await h.tick();
    await h.tick();
    expect(summary(await h.eventsList())).toEqual(['firing:b:42@70', 'firing:a:33@160']);
  });

  it('keeps state per rule × source for an any-source rule', async () => {
    const h = await harness();
    await h.rules.create(OWNER, BUCKET, { name: 'low', metric: 'battery', condition: { op: '<', value: 20 }, webhookIds: [] });
    await h.ingest(SRC_A, 'battery', 10, T0 + 1000);
    await h.ingest(SRC_B, 'battery', 50, T0 + 2000);
    await h.ingest(SRC_B, 'battery', 15, T0 + 3000);
    await h.ingest(SRC_A, 'battery', 80, T0 + 4000);
    await h.ingest(SRC_B, 'battery', 12, T0 + 5000);
    expect(summary(await h.eventsList())).toEqual(['firing:a:10@1', 'firing:b:15@3', 'resolved:a:80@4']);
  });

  it('compares booleans as 1/0 and ignores strings', async () => {
    const h = await harness();
    await h.rules.create(OWNER, BUCKET, { name: 'door', metric: 'open', condition: { op: '==', value: 1 }, webhookIds: [] });
    await h.ingest(SRC_A, 'open', 'yes', T0 + 1000);
    await h.ingest(SRC_A, 'open', true, T0 + 2000);
    await h.ingest(SRC_A, 'open', false, T0 + 3000);
    expect(summary(await h.eventsList())).toEqual(['firing:a:true@2', 'resolved:a:false@3']);
  });
});

describe('alert evaluator: absence', () => {
  it('fires per silent source on the timer and resolves on the next reading', async () => {
    const h = await harness();
    await h.rules.create(OWNER, BUCKET, { name: 'silent', metric: 'temp', condition: { op: 'absent', seconds: 60 }, webhookIds: [] });
    await h.tick(); // countdowns start (rule created at T0)
    h.clock.set(T0 + 30_000);
    await h.ingest(SRC_A, 'temp', 21);
    h.clock.set(T0 + 59_999);
    await h.tick();
    expect(await h.eventsList()).toEqual([]);
    h.clock.set(T0 + 61_000);
    await h.tick();
    expect(summary(await h.eventsList())).toEqual(['firing:b:null@60']);
    h.clock.set(T0 + 95_000);
    await h.tick();
    await h.tick();
    expect(summary(await h.eventsList())).toEqual(['firing:b:null@60', 'firing:a:null@90']);
    h.clock.set(T0 + 100_000);
    await h.ingest(SRC_A, 'temp', 22);
    expect(summary(await h.eventsList()).at(-1)).toBe('resolved:a:22@100');
  });

  it('a rule scoped to one source watches only that source', async () => {
    const h = await harness();
    await h.rules.create(OWNER, BUCKET, { name: 'silent', dataSourceId: SRC_B, metric: 'temp', condition: { op: 'absent', seconds: 10 }, webhookIds: [] });
    await h.tick();
    h.clock.set(T0 + 11_000);
    await h.tick();
    expect(summary(await h.eventsList())).toEqual(['firing:b:null@10']);
  });
});

describe('alert evaluator: enable/disable and changes', () => {
  it('a disabled rule produces nothing; disabling a firing rule resolves it; re-enabling starts over', async () => {
    const h = await harness();
    const rule = await h.rules.create(OWNER, BUCKET, { name: 'hot', metric: 'temp', condition: { op: '>', value: 30 }, webhookIds: [], enabled: false });
    await h.ingest(SRC_A, 'temp', 50, T0 + 1000);
    expect(await h.eventsList()).toEqual([]);
    await h.rules.update(OWNER, BUCKET, rule.id, { enabled: true });
    await h.evaluator.idle();
    await h.ingest(SRC_A, 'temp', 51, T0 + 2000);
    h.clock.set(T0 + 3000);
    await h.rules.update(OWNER, BUCKET, rule.id, { enabled: false });
    await h.evaluator.idle();
    await h.ingest(SRC_A, 'temp', 20, T0 + 4000);
    await h.ingest(SRC_A, 'temp', 60, T0 + 5000);
    expect(summary(await h.eventsList())).toEqual(['firing:a:51@2', 'resolved:a:null@3']);
    await h.rules.update(OWNER, BUCKET, rule.id, { enabled: true });
    await h.evaluator.idle();
    await h.ingest(SRC_A, 'temp', 61, T0 + 6000);
    expect(summary(await h.eventsList()).at(-1)).toBe('firing:a:61@6');
  });

  it('renaming keeps state; changing the threshold starts over', async () => {
    const h = await harness();
    const rule = await h.rules.create(OWNER, BUCKET, { name: 'hot', metric: 'temp', condition: { op: '>', value: 30 }, webhookIds: [] });
    await h.ingest(SRC_A, 'temp', 50, T0 + 1000);
    await h.rules.update(OWNER, BUCKET, rule.id, { name: 'very hot' });
    await h.evaluator.idle();
    await h.ingest(SRC_A, 'temp', 55, T0 + 2000);
    expect(await h.eventsList()).toHaveLength(1);
    h.clock.set(T0 + 3000);
    await h.rules.update(OWNER, BUCKET, rule.id, { condition: { op: '>', value: 52 } });
    await h.evaluator.idle();
    await h.ingest(SRC_A, 'temp', 56, T0 + 4000);
    expect(summary(await h.eventsList())).toEqual(['firing:a:50@1', 'resolved:a:null@3', 'firing:a:56@4']);
  });
});

describe('alert evaluator: restart', () => {
  it('keeps firing/pending state and absence countdowns, with no duplicate events', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dakkio-alerts-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const h = await harness(join(dir, 'meta.db'));
    await h.rules.create(OWNER, BUCKET, { name: 'hot', dataSourceId: SRC_A, metric: 'temp', condition: { op: '>', value: 30 }, webhookIds: [WEBHOOK] });
    await h.rules.create(OWNER, BUCKET, { name: 'held', dataSourceId: SRC_B, metric: 'temp', condition: { op: '>', value: 30 }, forSeconds: 60, webhookIds: [] });
    await h.rules.create(OWNER, BUCKET, { name: 'silent', dataSourceId: SRC_A, metric: 'hb', condition: { op: 'absent', seconds: 60 }, webhookIds: [] });
    await h.tick();
    await h.ingest(SRC_A, 'temp', 40, T0 + 1000);
    await h.ingest(SRC_B, 'temp', 40, T0 + 1000);
    h.clock.set(T0 + 10_000);
    await h.ingest(SRC_A, 'hb', 1);
    expect(summary(await h.eventsList())).toEqual(['firing:a:40@1']);

    await h.restart();
    // still above: no second firing; the pending forSeconds and the absence countdown resume from the DB
    await h.ingest(SRC_A, 'temp', 41, T0 + 20_000);
    h.clock.set(T0 + 61_000);
    await h.tick();
    expect(summary(await h.eventsList())).toEqual(['firing:a:40@1', 'firing:b:40@61']);
    h.clock.set(T0 + 70_000);
    await h.tick();
    expect(summary(await h.eventsList()).at(-1)).toBe('firing:a:null@70');

    await h.restart();
    h.clock.set(T0 + 200_000);
    await h.tick();
    await h.ingest(SRC_B, 'temp', 45, T0 + 200_000);
    await h.ingest(SRC_A, 'temp', 20, T0 + 201_000);
    const all = summary(await h.eventsList());
    expect(all).toEqual(['firing:a:40@1', 'firing:b:40@61', 'firing:a:null@70', 'resolved:a:20@201']);
    // one webhook delivery per event of the rule that has a webhook
    const deliveries = await h.db.selectFrom('webhook_deliveries').select('event').execute();
    expect(deliveries.map((d) => d.event).sort()).toEqual(['alert.firing', 'alert.resolved']);
  });

  it('a restarted evaluator on a fresh clock still resolves nothing by itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dakkio-alerts-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'meta.db');
    const h = await harness(path);
    await h.rules.create(OWNER, BUCKET, { name: 'hot', metric: 'temp', condition: { op: '>', value: 30 }, webhookIds: [] });
    await h.ingest(SRC_A, 'temp', 40, T0 + 1000);
    await h.close();
    const h2 = await createAlertHarness(h.db, createManualClock(T0 + 3_600_000));
    cleanups.push(() => h2.close());
    await h2.tick();
    await h2.ingest(SRC_A, 'temp', 45, T0 + 3_600_000);
    expect(summary(await h2.eventsList())).toEqual(['firing:a:40@1']);
  });
});
