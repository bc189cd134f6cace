import { afterEach, describe, expect, it } from 'vitest';
import { alertEventsQuerySchema, alertRuleCreateSchema } from './schemas.ts';
import { BUCKET, createAlertHarness, OTHER_OWNER, OWNER, SRC_A, seedDb, WEBHOOK } from './alert-test-fixture.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function harness() {
  const db = await seedDb();
  cleanups.push(() => db.destroy());
  const h = await createAlertHarness(db);
  cleanups.push(() => h.close());
  const changed: string[] = [];
  h.events.subscribe('alert-rules.changed', (e) => {
    changed.push(e.bucketId);
  });
  return { ...h, changed };
}

const body = { name: 'hot', metric: 'temp', condition: { op: '>' as const, value: 30 }, webhookIds: [] as string[] };

describe('alert rule service', () => {
  it('creates with defaults, gets, updates, deletes, announcing each change', async () => {
    const h = await harness();
    const rule = await h.rules.create(OWNER, BUCKET, { ...body, webhookIds: [WEBHOOK, WEBHOOK] });
    expect(rule).toMatchObject({ bucketId: BUCKET, name: 'hot', dataSourceId: null, metric: 'temp', forSeconds: 0, enabled: true, webhookIds: [WEBHOOK] });
    expect(await h.rules.get(OWNER, BUCKET, rule.id)).toEqual(rule);
    const updated = await h.rules.update(OWNER, BUCKET, rule.id, { dataSourceId: SRC_A, forSeconds: 30, enabled: false });
    expect(updated).toMatchObject({ dataSourceId: SRC_A, forSeconds: 30, enabled: false, name: 'hot' });
    expect((await h.rules.update(OWNER, BUCKET, rule.id, { dataSourceId: null })).dataSourceId).toBeNull();
    await h.rules.delete(OWNER, BUCKET, rule.id);
    await expect(h.rules.get(OWNER, BUCKET, rule.id)).rejects.toMatchObject({ code: 'not_found' });
    expect(h.changed).toEqual([BUCKET, BUCKET, BUCKET, BUCKET]);
  });

  it("answers not_found for another owner's bucket or rule, and for a source outside the bucket", async () => {
    const h = await harness();
    const rule = await h.rules.create(OWNER, BUCKET, body);
    await expect(h.rules.list(OTHER_OWNER, BUCKET)).rejects.toMatchObject({ code: 'not_found' });
    await expect(h.rules.create(OTHER_OWNER, BUCKET, body)).rejects.toMatchObject({ code: 'not_found' });
    await expect(h.rules.get(OTHER_OWNER, BUCKET, rule.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(h.rules.update(OTHER_OWNER, BUCKET, rule.id, { name: 'x' })).rejects.toMatchObject({ code: 'not_found' });
    await expect(h.rules.delete(OTHER_OWNER, BUCKET, rule.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(h.rules.create(OWNER, BUCKET, { ...body, dataSourceId: 'c'.repeat(24) })).rejects.toMatchObject({ code: 'not_found' });
    await expect(h.evaluator.listEvents(OTHER_OWNER, BUCKET)).rejects.toMatchObject({ code: 'not_found' });
  });

  it("refuses webhook ids that are not the owner's", async () => {
    const h = await harness();
    await h.db
      .insertInto('webhooks')
      .values({ id: 'd'.repeat(24), owner_id: OTHER_OWNER, url: 'https://x.example.com/', events: '["alert.firing"]', description: null, secret: 'whsec_AAAA', created_at: 0, updated_at: 0 })
      .execute();
    await expect(h.rules.create(OWNER, BUCKET, { ...body, webhookIds: ['d'.repeat(24)] })).rejects.toMatchObject({
      code: 'validation_failed',
      details: [{ path: 'webhookIds', code: 'webhook_not_found' }],
    });
  });

  it('validates the body (zod) and forSeconds on absence rules', async () => {
    const h = await harness();
    await expect(h.rules.create(OWNER, BUCKET, { ...body, metric: 'bad metric!' })).rejects.toMatchObject({ code: 'validation_failed', details: [{ path: 'metric' }] });
    await expect(h.rules.create(OWNER, BUCKET, { ...body, condition: { op: 'absent', seconds: 60 }, forSeconds: 10 })).rejects.toMatchObject({
      code: 'validation_failed',
    });
    expect(alertRuleCreateSchema.safeParse({ ...body, condition: { op: '=>', value: 1 } }).success).toBe(false);
    expect(alertRuleCreateSchema.safeParse({ ...body, condition: { op: 'absent', seconds: 0 } }).success).toBe(false);
    expect(alertRuleCreateSchema.safeParse({ ...body, extra: 1 }).success).toBe(false);
    expect(alertEventsQuerySchema.parse({ from: '2026-11-28T10:00:00.000Z', to: '1764324000000', limit: '5' })).toEqual({
      from: Date.UTC(2026, 10, 28, 10),
      to: 1764324000000,
      limit: 5,
    });
  });

  it('lists with pagination', async () => {
    const h = await harness();
    const ids = [];
    for (let i = 0; i < 5; i++) {
      h.clock.advance(1000);
      ids.push((await h.rules.create(OWNER, BUCKET, { ...body, name: `r${i}` })).id);
    }
    const p1 = await h.rules.list(OWNER, BUCKET, { limit: 3 });
    const p2 = await h.rules.list(OWNER, BUCKET, { limit: 3, cursor: p1.nextCursor });
    expect([...p1.items, ...p2.items].map((r) => r.id)).toEqual([...ids].sort());
    expect(p2.nextCursor).toBeNull();
  });

  it('lists events newest first, filtered by rule and half-open time range, paginated', async () => {
    const h = await harness();
    const hot = await h.rules.create(OWNER, BUCKET, body);
    const cold = await h.rules.create(OWNER, BUCKET, { ...body, name: 'cold', condition: { op: '<', value: 0 } });
    const t = h.clock.now();
    for (let i = 0; i < 6; i++) await h.ingest(SRC_A, 'temp', i % 2 === 0 ? 40 : -5, t + i * 1000);
    const all = await h.evaluator.listEvents(OWNER, BUCKET);
    expect(all.items.map((e) => e.at)).toEqual([...all.items.map((e) => e.at)].sort((a, b) => b - a));
    const hotOnly = await h.evaluator.listEvents(OWNER, BUCKET, { ruleId: hot.id });
    expect(hotOnly.items.every((e) => e.ruleId === hot.id)).toBe(true);
    expect(hotOnly.items.map((e) => e.state)).toEqual(['resolved', 'firing', 'resolved', 'firing', 'resolved', 'firing']);
    const ranged = await h.evaluator.listEvents(OWNER, BUCKET, { ruleId: cold.id, from: t + 1000, to: t + 3000 });
    expect(ranged.items.map((e) => e.at - t)).toEqual([2000, 1000]);
    expect(all.items).toHaveLength(11);
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await h.evaluator.listEvents(OWNER, BUCKET, { limit: 4, cursor });
      paged.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(paged).toEqual(all.items.map((e) => e.id));
  });
});
