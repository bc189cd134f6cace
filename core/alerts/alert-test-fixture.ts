/** Test fixture for the alert tests: a DB with an owner, a bucket with two sources, a webhook, and the services wired on a manual clock. */
import { createManualClock } from '../clock.ts';
import { createLocalEventBus } from '../event-bus-local.ts';
import { createIdGenerator } from '../ids.ts';
import { silentLogger } from '../logger.ts';
import type { ReadingPoint, ReadingValue } from '../readings.ts';
import type { MetadataDb } from '../store/metadata/sqlite-metadata-db.ts';
import { createTestDb } from '../webhooks/test-db.ts';
import { type AlertEvaluator, type AlertScheduler, createAlertEvaluator } from './alert-evaluator.ts';
import { createAlertRuleService } from './alert-rule-service.ts';

export const OWNER = 'a'.repeat(24);
export const OTHER_OWNER = 'b'.repeat(24);
export const BUCKET = '0'.repeat(23) + '1';
export const SRC_A = '0'.repeat(23) + 'a';
export const SRC_B = '0'.repeat(23) + 'b';
export const WEBHOOK = '0'.repeat(23) + 'f';
export const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);

/** A scheduler that never fires: tests call evaluator.tick() themselves. */
export const manualScheduler: AlertScheduler = { every: () => () => {} };

export async function seedDb(path = ':memory:'): Promise<MetadataDb> {
  const db = await createTestDb(path, OWNER);
  await db
    .insertInto('users')
    .values({ id: OTHER_OWNER, email: 'other@example.com', name: null, password_hash: 'x', created_at: 0, sessions_valid_after: 0 })
    .onConflict((oc) => oc.doNothing())
    .execute();
  const exists = await db.selectFrom('buckets').select('id').where('id', '=', BUCKET).executeTakeFirst();
  if (exists) return db;
  await db.insertInto('buckets').values({ id: BUCKET, owner_id: OWNER, name: 'b', description: null, retention_days: null, created_at: T0 - 86_400_000 }).execute();
  for (const id of [SRC_A, SRC_B]) {
    await db
      .insertInto('data_sources')
      .values({ id, bucket_id: BUCKET, owner_id: OWNER, name: id, description: null, metadata: '{}', created_at: T0 - 86_400_000, last_seen_at: null })
      .execute();
  }
  await db
    .insertInto('webhooks')
    .values({ id: WEBHOOK, owner_id: OWNER, url: 'https://hooks.example.com/in', events: '["alert.firing","alert.resolved"]', description: null, secret: 'whsec_AAAA', created_at: T0, updated_at: T0 })
    .execute();
  return db;
}

export async function createAlertHarness(db: MetadataDb, clock = createManualClock(T0)) {
  const events = createLocalEventBus(silentLogger);
  const ids = createIdGenerator(clock.now);
  const published: Record<string, unknown>[] = [];
  events.subscribe('alert.event', (e) => {
    published.push(e.payload);
  });
  const rules = createAlertRuleService({ db, clock, ids, events });
  let evaluator: AlertEvaluator = createAlertEvaluator({ db, clock, logger: silentLogger, events, ids, scheduler: manualScheduler });
  const h = {
    db,
    clock,
    events,
    rules,
    published,
    get evaluator() {
      return evaluator;
    },
    /** A "restart": a new evaluator over the same DB (its cache and queue start empty). */
    async restart() {
      await evaluator.close();
      evaluator = createAlertEvaluator({ db, clock, logger: silentLogger, events, ids, scheduler: manualScheduler });
    },
    /** Hands points to the evaluator as the ingest pipeline would, and waits for them to be evaluated. */
    async ingest(dataSourceId: string, metric: string, value: ReadingValue, ts = clock.now()) {
      const p: ReadingPoint = { bucketId: BUCKET, dataSourceId, metric, ts, value };
      evaluator.onCommitted([p]);
      await evaluator.idle();
    },
    async tick() {
      await evaluator.tick();
    },
    async eventsList() {
      return (await evaluator.listEvents(OWNER, BUCKET)).items.reverse();
    },
    async close() {
      await evaluator.close();
      await events.close();
    },
  };
  return h;
}
