/**
 * The evaluator's working set per bucket: its rules (indexed by metric) and the
 * persisted rule × source states, loaded once and then kept in memory; the
 * database stays the truth (a failed commit drops the bucket, which reloads).
 * Loading reconciles states with their rules: a state of a disabled rule, or one
 * computed against different rule fields, is removed (resolving it if firing).
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import type { ReadingValue } from '../readings.ts';
import type { MetadataDb } from '../store/metadata/sqlite-metadata-db.ts';
import type { MetadataDatabase } from '../store/metadata/tables.ts';
import { rowToRule } from './alert-rule-service.ts';
import { initialState, type RuleState, ruleFingerprint } from './alert-state-machine.ts';
import type { AlertEvent, AlertRule } from './schemas.ts';

export interface PendingWrites {
  /** states to upsert, by key */
  states: Map<string, { rule: AlertRule; dataSourceId: string; state: RuleState }>;
  deletes: { ruleId: string; dataSourceId: string }[];
  events: { event: AlertEvent; rule: AlertRule; ownerId: string }[];
  /** firing states removed by reconciliation; the evaluator turns them into resolved events */
  resolved: { rule: AlertRule; dataSourceId: string }[];
}

export interface BucketContext {
  /** Enabled rules on this metric. */
  rulesFor(metric: string): readonly AlertRule[];
  /** The state of rule × source, created (ok) if new; marks it for persisting. */
  state(rule: AlertRule, dataSourceId: string, writes: PendingWrites): RuleState;
  markDirty(ruleId: string, dataSourceId: string, writes: PendingWrites): void;
  ownerOf(ruleId: string): string;
  /** A fresh write set, carrying the load-time reconciliation the first time only. */
  takeReconcileWrites(): PendingWrites;
  /** Gives every source an enabled absence rule covers a state, so its countdown runs (and persists). */
  ensureAbsenceStates(writes: PendingWrites): Promise<void>;
  /** States the timer must look at: enabled absence rules and pending forSeconds rules. */
  timedStates(): Iterable<{ rule: AlertRule; dataSourceId: string; state: RuleState }>;
}

export interface BucketStateCache {
  get(bucketId: string): Promise<BucketContext>;
  drop(bucketId: string): void;
  clear(): void;
  /** Buckets with enabled absence or forSeconds rules (cached until a drop). */
  timerBuckets(): Promise<string[]>;
  persist(trx: Kysely<MetadataDatabase>, writes: PendingWrites): Promise<void>;
}

const keyOf = (ruleId: string, dataSourceId: string) => `${ruleId}\u0000${dataSourceId}`;
const emptyWrites = (): PendingWrites => ({ states: new Map(), deletes: [], events: [], resolved: [] });

export function createBucketStateCache(deps: { db: MetadataDb; clock: Clock }): BucketStateCache {
  const { db } = deps;
  const buckets = new Map<string, Promise<BucketContext>>();
  let timerBucketList: Promise<string[]> | null = null;

  async function load(bucketId: string): Promise<BucketContext> {
    const ruleRows = await db.selectFrom('alert_rules').selectAll().where('bucket_id', '=', bucketId).execute();
    const stateRows = await db.selectFrom('alert_states').selectAll().where('bucket_id', '=', bucketId).execute();
    const rules = new Map(ruleRows.map((r) => [r.id, rowToRule(r)]));
    const owners = new Map(ruleRows.map((r) => [r.id, r.owner_id]));
    const byMetric = new Map<string, AlertRule[]>();
    for (const rule of rules.values()) {
      if (!rule.enabled) continue;
      const list = byMetric.get(rule.metric) ?? [];
      list.push(rule);
      byMetric.set(rule.metric, list);
    }
    const states = new Map<string, { rule: AlertRule; dataSourceId: string; state: RuleState }>();
    let reconcile: PendingWrites | null = emptyWrites();
    for (const row of stateRows) {
      const rule = rules.get(row.rule_id);
      if (rule?.enabled && ruleFingerprint(rule) === row.rule_fingerprint) {
        states.set(keyOf(rule.id, row.data_source_id), {
          rule,
          dataSourceId: row.data_source_id,
          state: {
            state: row.state,
            pendingSince: row.pending_since === null ? null : Number(row.pending_since),
            lastTs: row.last_ts === null ? null : Number(row.last_ts),
            lastSeenAt: row.last_seen_at === null ? null : Number(row.last_seen_at),
            lastValue: row.last_value === null ? null : (JSON.parse(row.last_value) as ReadingValue),
          },
        });
        continue;
      }
      reconcile.deletes.push({ ruleId: row.rule_id, dataSourceId: row.data_source_id });
      if (rule && row.state === 'firing') reconcile.resolved.push({ rule, dataSourceId: row.data_source_id });
    }

    const ctx: BucketContext = {
      rulesFor: (metric) => byMetric.get(metric) ?? [],
      state(rule, dataSourceId, writes) {
        const key = keyOf(rule.id, dataSourceId);
        let entry = states.get(key);
        if (!entry) {
          entry = { rule, dataSourceId, state: initialState() };
          states.set(key, entry);
        }
        writes.states.set(key, entry);
        return entry.state;
      },
      markDirty(ruleId, dataSourceId, writes) {
        const key = keyOf(ruleId, dataSourceId);
        const entry = states.get(key);
        if (entry) writes.states.set(key, entry);
      },
      ownerOf: (ruleId) => owners.get(ruleId) ?? '',
      takeReconcileWrites() {
        const w = reconcile ?? emptyWrites();
        reconcile = null;
        return w;
      },
      async ensureAbsenceStates(writes) {
        const absence = [...rules.values()].filter((r) => r.enabled && r.condition.op === 'absent');
        if (absence.length === 0) return;
        const sources = await db
          .selectFrom('data_sources')
          .select(['id', 'created_at', 'last_seen_at'])
          .where('bucket_id', '=', bucketId)
          .execute();
        for (const rule of absence) {
          for (const src of sources) {
            if (rule.dataSourceId !== null && rule.dataSourceId !== src.id) continue;
            const key = keyOf(rule.id, src.id);
            if (states.has(key)) continue;
            // the countdown of a source never seen by this rule starts when both the rule and the source existed
            const baseline = Math.max(rule.updatedAt, Number(src.last_seen_at ?? src.created_at));
            const entry = { rule, dataSourceId: src.id, state: initialState(baseline) };
            states.set(key, entry);
            writes.states.set(key, entry);
          }
        }
      },
      *timedStates() {
        for (const entry of states.values()) {
          if (entry.rule.condition.op === 'absent' || entry.state.state === 'pending') yield entry;
        }
      },
    };
    return ctx;
  }

  return {
    get(bucketId) {
      let ctx = buckets.get(bucketId);
      if (!ctx) {
        ctx = load(bucketId);
        buckets.set(bucketId, ctx);
        ctx.catch(() => buckets.delete(bucketId));
      }
      return ctx;
    },
    drop(bucketId) {
      buckets.delete(bucketId);
      timerBucketList = null;
    },
    clear() {
      buckets.clear();
      timerBucketList = null;
    },
    timerBuckets() {
      if (!timerBucketList) {
        const p = db
          .selectFrom('alert_rules')
          .select('bucket_id')
          .distinct()
          .where('enabled', '=', 1)
          .where((eb) => eb.or([eb('condition_op', '=', 'absent'), eb('for_seconds', '>', 0)]))
          .execute()
          .then((rows) => rows.map((r) => r.bucket_id));
        timerBucketList = p;
        p.catch(() => {
          if (timerBucketList === p) timerBucketList = null;
        });
      }
      return timerBucketList;
    },
    async persist(trx, writes) {
      const now = deps.clock.now();
      for (const d of writes.deletes) {
        await trx.deleteFrom('alert_states').where('rule_id', '=', d.ruleId).where('data_source_id', '=', d.dataSourceId).execute();
      }
      for (const { rule, dataSourceId, state } of writes.states.values()) {
        const values = {
          rule_fingerprint: ruleFingerprint(rule),
          state: state.state,
          pending_since: state.pendingSince,
          last_ts: state.lastTs,
          last_seen_at: state.lastSeenAt,
          last_value: state.lastValue === null ? null : JSON.stringify(state.lastValue),
          updated_at: now,
        };
        await trx
          .insertInto('alert_states')
          .values({ rule_id: rule.id, data_source_id: dataSourceId, bucket_id: rule.bucketId, ...values })
          .onConflict((oc) => oc.columns(['rule_id', 'data_source_id']).doUpdateSet(values))
          .execute();
      }
    },
  };
}
