/**
 * Upstream brokers (API.md "Coming from Mosquitto"): external MQTT brokers dakkio
 * subscribes to as a client. This is the stored configuration; the connections
 * are upstream-manager.ts, told about every change through `onChange`.
 */
import type { Clock } from '../core/clock.ts';
import { notFound, validationFailed } from '../core/errors.ts';
import { type IdGenerator, isId } from '../core/ids.ts';
import {
  type CreateUpstreamInput,
  createUpstreamSchema,
  type UpdateUpstreamInput,
  updateUpstreamSchema,
} from '../core/mqtt-compat/schemas.ts';
import { buildPage, type Page, type PageRequest, resolvePage } from '../core/pagination.ts';
import type { MetadataDb } from '../core/store/metadata/sqlite-metadata-db.ts';
import type { MqttUpstreamsTable } from '../core/store/metadata/tables.ts';
import { isValidFilter } from './topic-filter.ts';
import { parseOrThrow } from '../core/validation.ts';

export interface UpstreamSubscription {
  filter: string;
  qos: 0 | 1 | 2;
}

/** Never carries the password (`hasPassword` says whether one is set). */
export interface UpstreamView {
  id: string;
  url: string;
  username: string | null;
  hasPassword: boolean;
  clientId: string;
  subscriptions: UpstreamSubscription[];
  enabled: boolean;
  createdAt: number;
}

/** What the manager needs to connect, password included. */
export interface UpstreamConfig extends Omit<UpstreamView, 'hasPassword'> {
  ownerId: string;
  password: string | null;
}

export interface UpstreamServiceOptions {
  db: MetadataDb;
  clock: Clock;
  ids: IdGenerator;
  /** called after a create/update/delete commits, e.g. UpstreamManager.reload */
  onChange?: (upstreamId: string) => Promise<void> | void;
}

export interface UpstreamService {
  list(ownerId: string, page?: PageRequest): Promise<Page<UpstreamView>>;
  create(ownerId: string, input: CreateUpstreamInput): Promise<UpstreamView>;
  get(ownerId: string, id: string): Promise<UpstreamView>;
  update(ownerId: string, id: string, patch: UpdateUpstreamInput): Promise<UpstreamView>;
  delete(ownerId: string, id: string): Promise<void>;
}

export function toUpstreamView(row: MqttUpstreamsTable): UpstreamView {
  return {
    id: row.id,
    url: row.url,
    username: row.username,
    hasPassword: row.password !== null,
    clientId: row.client_id,
    subscriptions: JSON.parse(row.subscriptions) as UpstreamSubscription[],
    enabled: Number(row.enabled) === 1,
    createdAt: Number(row.created_at),
  };
}

export function toUpstreamConfig(row: MqttUpstreamsTable): UpstreamConfig {
  const { hasPassword: _, ...view } = toUpstreamView(row);
  return { ...view, ownerId: row.owner_id, password: row.password };
}

function assertFilters(subs: readonly { filter: string }[]): void {
  const bad = subs.findIndex((s) => !isValidFilter(s.filter));
  if (bad >= 0) {
    throw validationFailed('invalid topic filter', [{ path: `subscriptions.${bad}.filter`, message: 'invalid MQTT topic filter' }]);
  }
}

export function createUpstreamService(opts: UpstreamServiceOptions): UpstreamService {
  const { db, clock, ids } = opts;
  const changed = async (id: string) => {
    await opts.onChange?.(id);
  };

  async function owned(ownerId: string, id: string): Promise<MqttUpstreamsTable> {
    if (!isId(id)) throw notFound('upstream broker');
    const row = await db
      .selectFrom('mqtt_upstreams')
      .selectAll()
      .where('id', '=', id)
      .where('owner_id', '=', ownerId)
      .executeTakeFirst();
    if (!row) throw notFound('upstream broker');
    return row;
  }

  return {
    async list(ownerId, page) {
      const { afterId, limit } = resolvePage(page);
      let q = db.selectFrom('mqtt_upstreams').selectAll().where('owner_id', '=', ownerId);
      if (afterId) q = q.where('id', '>', afterId);
      return buildPage(await q.orderBy('id').limit(limit + 1).execute(), limit, toUpstreamView);
    },

    async create(ownerId, rawInput) {
      const input = parseOrThrow(createUpstreamSchema, rawInput, 'request body');
      assertFilters(input.subscriptions);
      const row: MqttUpstreamsTable = {
        id: ids(),
        owner_id: ownerId,
        url: input.url,
        username: input.username ?? null,
        password: input.password ?? null,
        client_id: input.clientId,
        subscriptions: JSON.stringify(input.subscriptions),
        enabled: input.enabled ? 1 : 0,
        created_at: clock.now(),
      };
      await db.insertInto('mqtt_upstreams').values(row).execute();
      await changed(row.id);
      return toUpstreamView(row);
    },

    get: async (ownerId, id) => toUpstreamView(await owned(ownerId, id)),

    async update(ownerId, id, rawPatch) {
      const patch = parseOrThrow(updateUpstreamSchema, rawPatch, 'request body');
      const row = await owned(ownerId, id);
      const set: Partial<MqttUpstreamsTable> = {};
      if (patch.url !== undefined) set.url = patch.url;
      if (patch.username !== undefined) set.username = patch.username;
      if (patch.password !== undefined) set.password = patch.password;
      if (patch.clientId !== undefined) set.client_id = patch.clientId;
      if (patch.subscriptions !== undefined) {
        assertFilters(patch.subscriptions);
        set.subscriptions = JSON.stringify(patch.subscriptions);
      }
      if (patch.enabled !== undefined) set.enabled = patch.enabled ? 1 : 0;
      if (Object.keys(set).length === 0) return toUpstreamView(row);
      await db.updateTable('mqtt_upstreams').set(set).where('id', '=', id).execute();
      await changed(id);
      return toUpstreamView({ ...row, ...set });
    },

    async delete(ownerId, id) {
      await owned(ownerId, id);
      await db.deleteFrom('mqtt_upstreams').where('id', '=', id).execute();
      await changed(id);
    },
  };
}
