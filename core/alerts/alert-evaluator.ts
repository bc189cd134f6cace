/**
 * Evaluates alert rules on committed readings, off the acknowledgement path:
 * onCommitted() only queues (O(1)); a single async worker applies the queue to
 * per-bucket cached rules and state, then commits state changes, events and their
 * webhook deliveries in one transaction (so a restart neither loses nor repeats an
 * event) and publishes the events afterwards. A timer runs absence deadlines and
 * elapsed forSeconds.
 *
 * "Any source" absence rules watch every data source of the bucket: those that
 * exist (their countdown starts at the later of the rule's last change and the
 * source's lastSeenAt/creation) and, implicitly, every source heard from, since
 * ingest only accepts existing sources. Disabling a rule, or changing what it
 * evaluates, resolves its firing states (value null) and starts it over.
 *
 * Single-node semantics: with several nodes each evaluates what it ingests; a
 * shared evaluator is future work.
 */
import type { Clock } from '../clock.ts';
import type { IdGenerator } from '../ids.ts';
import type { Logger } from '../logger.ts';
import type { EventBus } from '../ports/event-bus.ts';
import type { ReadingPoint } from '../readings.ts';
import type { MetadataDb } from '../store/metadata/sqlite-metadata-db.ts';
import { enqueueDeliveries, webhookBody } from '../webhooks/outbox.ts';
import { type AlertEventService, createAlertEventService, eventPayload } from './alert-events.ts';
import { createBucketStateCache, type BucketContext, type PendingWrites } from './bucket-state-cache.ts';
import { applyReading, applyTimer } from './alert-state-machine.ts';
import type { AlertEvent, AlertRule } from './schemas.ts';

export interface AlertScheduler {
  /** Calls fn every intervalMs until the returned function is called. */
  every(intervalMs: number, fn: () => void): () => void;
}

export const intervalScheduler: AlertScheduler = {
  every(intervalMs, fn) {
    const t = setInterval(fn, intervalMs);
    t.unref();
    return () => clearInterval(t);
  },
};

export interface AlertEvaluatorDeps {
  db: MetadataDb;
  clock: Clock;
  logger: Logger;
  events: EventBus;
  ids: IdGenerator;
  /** drives tick(); default: setInterval every checkIntervalMs */
  scheduler?: AlertScheduler;
  /** default 1000 */
  checkIntervalMs?: number;
  /** called after webhook deliveries were enqueued, e.g. `() => dispatcher.wake()` */
  onDeliveriesEnqueued?: () => void;
  /** points allowed to wait for evaluation; beyond it the oldest are dropped with a warning (default 1,000,000) */
  maxQueuedPoints?: number;
}

export interface AlertEvaluator extends AlertEventService {
  /** Hand committed points over; never blocks, never throws. */
  onCommitted(points: readonly ReadingPoint[]): void;
  /** Runs the timer checks now (the scheduler calls this). */
  tick(): Promise<void>;
  /** Resolves once everything queued before the call has been evaluated and committed. */
  idle(): Promise<void>;
  /** Evaluates what is queued, stops the timer. Idempotent. Does not close the db. */
  close(): Promise<void>;
}

interface Queued {
  points: readonly ReadingPoint[];
  receivedAt: number;
}

export function createAlertEvaluator(deps: AlertEvaluatorDeps): AlertEvaluator {
  const { db, clock, events, ids } = deps;
  const logger = deps.logger.child({ component: 'alert-evaluator' });
  const maxQueued = deps.maxQueuedPoints ?? 1_000_000;
  const cache = createBucketStateCache({ db, clock });
  const eventService = createAlertEventService({ db });

  let queue: Queued[] = [];
  let queuedPoints = 0;
  let scheduled: NodeJS.Immediate | null = null;
  let chain: Promise<void> = Promise.resolve();
  let closed = false;

  /** Serialises every state mutation: evaluation, timer, reloads. */
  function serial(task: () => Promise<void>): Promise<void> {
    const run = chain.then(task).catch((err) => logger.error({ err }, 'alert evaluation failed'));
    chain = run;
    return run;
  }

  async function commit(writes: PendingWrites): Promise<void> {
    if (writes.states.size === 0 && writes.deletes.length === 0 && writes.events.length === 0) return;
    let enqueued = 0;
    await db.transaction().execute(async (trx) => {
      await cache.persist(trx, writes);
      for (const { event, rule, ownerId } of writes.events) {
        await trx
          .insertInto('alert_events')
          .values({
            id: event.id,
            rule_id: event.ruleId,
            bucket_id: event.bucketId,
            owner_id: ownerId,
            data_source_id: event.dataSourceId,
            metric: event.metric,
            state: event.state,
            value: event.value === null ? null : JSON.stringify(event.value),
            at: event.at,
          })
          .execute();
        const type = event.state === 'firing' ? 'alert.firing' : 'alert.resolved';
        const added = await enqueueDeliveries(trx, ids, {
          ownerId,
          webhookIds: rule.webhookIds,
          type,
          sourceId: event.id,
          body: webhookBody(type, event.at, eventPayload(event, rule)),
          now: clock.now(),
        });
        enqueued += added.length;
      }
    });
    for (const { event, rule } of writes.events) {
      await events.publish({ type: 'alert.event', bucketId: event.bucketId, payload: eventPayload(event, rule) });
    }
    if (enqueued > 0) deps.onDeliveriesEnqueued?.();
  }

  function record(writes: PendingWrites, ctx: BucketContext, rule: AlertRule, dataSourceId: string, t: { state: 'firing' | 'resolved'; value: AlertEvent['value']; at: number }): void {
    const event: AlertEvent = { id: ids(), ruleId: rule.id, bucketId: rule.bucketId, dataSourceId, metric: rule.metric, ...t };
    writes.events.push({ event, rule, ownerId: ctx.ownerOf(rule.id) });
  }

  /** Runs `fn` against a bucket's context, committing what it changed; on failure the cache is dropped so the DB stays the truth. */
  async function withBucket(bucketId: string, fn: (ctx: BucketContext, writes: PendingWrites) => void | Promise<void>): Promise<void> {
    const ctx = await cache.get(bucketId);
    const writes = ctx.takeReconcileWrites();
    for (const r of writes.resolved) record(writes, ctx, r.rule, r.dataSourceId, { state: 'resolved', value: null, at: clock.now() });
    await fn(ctx, writes);
    try {
      await commit(writes);
    } catch (err) {
      cache.drop(bucketId);
      throw err;
    }
  }

  async function evaluateQueue(): Promise<void> {
    const batch = queue;
    queue = [];
    queuedPoints = 0;
    // parallel arrays, not a {point, at} object per committed point: this runs for every reading stored
    const byBucket = new Map<string, { points: ReadingPoint[]; ats: number[] }>();
    for (const q of batch) {
      let last: string | undefined;
      let list: { points: ReadingPoint[]; ats: number[] } | undefined;
      for (const p of q.points) {
        if (p.bucketId !== last) {
          last = p.bucketId;
          list = byBucket.get(p.bucketId);
          if (!list) {
            list = { points: [], ats: [] };
            byBucket.set(p.bucketId, list);
          }
        }
        list!.points.push(p);
        list!.ats.push(q.receivedAt);
      }
    }
    for (const [bucketId, { points, ats }] of byBucket) {
      await withBucket(bucketId, (ctx, writes) => {
        for (let i = 0; i < points.length; i++) {
          const p = points[i]!;
          const at = ats[i]!;
          for (const rule of ctx.rulesFor(p.metric)) {
            if (rule.dataSourceId !== null && rule.dataSourceId !== p.dataSourceId) continue;
            const state = ctx.state(rule, p.dataSourceId, writes);
            const t = applyReading(rule, state, p.ts, p.value, at);
            if (t) record(writes, ctx, rule, p.dataSourceId, t);
          }
        }
      }).catch((err) => logger.error({ err, bucketId }, 'alert evaluation failed for bucket'));
    }
  }

  async function runTimers(): Promise<void> {
    const now = clock.now();
    for (const bucketId of await cache.timerBuckets()) {
      await withBucket(bucketId, async (ctx, writes) => {
        await ctx.ensureAbsenceStates(writes);
        for (const { rule, dataSourceId, state } of ctx.timedStates()) {
          const t = applyTimer(rule, state, now);
          if (t) {
            ctx.markDirty(rule.id, dataSourceId, writes);
            record(writes, ctx, rule, dataSourceId, t);
          }
        }
      }).catch((err) => logger.error({ err, bucketId }, 'alert timer failed for bucket'));
    }
  }

  function flushSoon(): void {
    if (scheduled || closed) return;
    scheduled = setImmediate(() => {
      scheduled = null;
      void serial(evaluateQueue);
    });
  }

  const unsubscribe = [
    events.subscribe('alert-rules.changed', (e) => {
      // reload inside the serial chain so a disabled rule's firing states resolve promptly
      void serial(async () => {
        cache.drop(e.bucketId);
        await withBucket(e.bucketId, () => {});
      });
    }),
    events.subscribe('bucket.deleted', (e) => void serial(async () => cache.drop(e.bucketId))),
    // the owner's buckets, rules and states are gone (FK cascade); forget every cached bucket rather than track owners
    events.subscribe('owner.deleted', () => void serial(async () => cache.clear())),
    events.subscribe('data-source.deleted', (e) =>
      void serial(async () => {
        await db.deleteFrom('alert_states').where('bucket_id', '=', e.bucketId).where('data_source_id', '=', e.dataSourceId).execute();
        cache.drop(e.bucketId);
      }),
    ),
  ];
  const stopTimer = (deps.scheduler ?? intervalScheduler).every(deps.checkIntervalMs ?? 1000, () => {
    if (!closed) void serial(runTimers);
  });

  return {
    onCommitted(points) {
      if (closed || points.length === 0) return;
      queue.push({ points, receivedAt: clock.now() });
      queuedPoints += points.length;
      while (queuedPoints > maxQueued && queue.length > 1) {
        const dropped = queue.shift() as Queued;
        queuedPoints -= dropped.points.length;
        logger.warn({ dropped: dropped.points.length }, 'alert evaluation queue full: oldest points not evaluated');
      }
      flushSoon();
    },
    tick: () => serial(runTimers),
    async idle() {
      if (scheduled) {
        clearImmediate(scheduled);
        scheduled = null;
        void serial(evaluateQueue);
      }
      await chain;
    },
    listEvents: (ownerId, bucketId, query) => eventService.listEvents(ownerId, bucketId, query),
    async close() {
      if (closed) return;
      closed = true;
      stopTimer();
      for (const u of unsubscribe) u();
      if (scheduled) {
        clearImmediate(scheduled);
        scheduled = null;
      }
      await serial(evaluateQueue);
    },
  };
}
