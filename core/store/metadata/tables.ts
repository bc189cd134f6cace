/**
 * Row types of the metadata database (users, keys, buckets, sources, rules, webhooks,
 * outbox, MQTT credentials). One Kysely schema for SQLite now and PostgreSQL later:
 * times are epoch-ms integers, booleans are 0/1 integers, JSON is TEXT.
 */
import type { Generated } from 'kysely';

export interface UsersTable {
  id: string;
  email: string;
  name: string | null;
  password_hash: string;
  created_at: number;
  /** sessions issued before this instant are dead (password change, "log out everywhere") */
  sessions_valid_after: number;
}

export interface RefreshTokensTable {
  /** sha256 of the opaque token */
  token_hash: string;
  family_id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  revoked_at: number | null;
  /** the jti of the access token issued with this refresh token (logout kills both) */
  access_jti: string;
}

export interface RevokedAccessTokensTable {
  jti: string;
  expires_at: number;
}

export interface ApiKeysTable {
  id: string;
  owner_id: string;
  name: string;
  /** first characters of the secret, shown in lists so a user can tell keys apart */
  prefix: string;
  secret_hash: string;
  /** during rotation grace, the previous secret's hash and when it dies */
  previous_secret_hash: string | null;
  previous_expires_at: number | null;
  /** JSON array of "read" | "write" */
  permissions: string;
  /** JSON array of bucket ids, or null = all buckets of the owner */
  bucket_ids: string | null;
  /** JSON array of Mosquitto-style topic rules (mosquitto-compat), or null */
  rules: string | null;
  created_at: number;
  last_used_at: number | null;
  expires_at: number | null;
  revoked_at: number | null;
}

export interface BucketsTable {
  id: string;
  owner_id: string;
  name: string;
  description: string | null;
  retention_days: number | null;
  created_at: number;
}

export interface DataSourcesTable {
  id: string;
  bucket_id: string;
  owner_id: string;
  name: string;
  description: string | null;
  /** JSON object */
  metadata: string;
  created_at: number;
  last_seen_at: number | null;
}

export interface WebhooksTable {
  id: string;
  owner_id: string;
  url: string;
  /** JSON array of event types ("alert.firing", "alert.resolved") */
  events: string;
  description: string | null;
  /** the full whsec_ secret: it is an HMAC key, so it must be kept retrievable (unlike API keys) */
  secret: string;
  created_at: number;
  updated_at: number;
}

export interface AlertRulesTable {
  id: string;
  owner_id: string;
  bucket_id: string;
  name: string;
  /** null = every source of the bucket */
  data_source_id: string | null;
  metric: string;
  /** duplicated out of `condition` so absence rules can be found without parsing JSON */
  condition_op: string;
  /** JSON {op, value} | {op: "absent", seconds} */
  condition: string;
  for_seconds: number;
  /** JSON array of webhook ids */
  webhook_ids: string;
  enabled: number;
  created_at: number;
  updated_at: number;
}

/** Evaluation state per rule × source, persisted so a restart resumes without duplicate events. */
export interface AlertStatesTable {
  rule_id: string;
  data_source_id: string;
  bucket_id: string;
  /** the rule's evaluation-relevant fields this state was computed against; a change resets the state */
  rule_fingerprint: string;
  state: 'ok' | 'pending' | 'firing';
  /** when the threshold condition started holding (reading time), for forSeconds */
  pending_since: number | null;
  /** newest reading time evaluated; older points are ignored */
  last_ts: number | null;
  /** receive time of the newest reading (absence rules) */
  last_seen_at: number | null;
  /** JSON of the newest value seen */
  last_value: string | null;
  updated_at: number;
}

export interface AlertEventsTable {
  id: string;
  rule_id: string;
  bucket_id: string;
  owner_id: string;
  data_source_id: string;
  metric: string;
  state: 'firing' | 'resolved';
  /** JSON of the triggering value, null for absence */
  value: string | null;
  at: number;
}

/** The webhook outbox: a row exists before the first attempt and survives restarts. */
export interface WebhookDeliveriesTable {
  /** also the Standard Webhooks `webhook-id`, stable across retries */
  id: string;
  webhook_id: string;
  owner_id: string;
  event: string;
  /** unique per (event, webhook) so a replayed enqueue never doubles a delivery */
  dedup_key: string;
  /** the exact JSON body that is signed and sent on every attempt */
  body: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** null once delivered or failed; while an attempt runs, the lease expiry */
  next_attempt_at: number | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

export interface WebhookAttemptsTable {
  id: string;
  delivery_id: string;
  attempt: number;
  at: number;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  /** first 4 KB of the response body */
  response_body: string | null;
}

/** mosquitto-compat: a legacy MQTT username/password with Mosquitto-style topic rules. */
export interface MqttCredentialsTable {
  id: string;
  owner_id: string;
  /** unique across owners: it identifies the credential at CONNECT */
  username: string;
  /** a dakkio $scrypt$ hash (core/auth/passwords.ts) or an imported Mosquitto $7$/$6$/$argon2id$ hash */
  password_hash: string;
  /** JSON array of TopicRule */
  rules: string;
  created_at: number;
  updated_at: number;
}

/** mosquitto-compat: turns messages on a legacy topic tree into readings. */
export interface MqttTopicMappingsTable {
  id: string;
  owner_id: string;
  filter: string;
  bucket_id: string;
  /** "{n}" (n-th topic level, 1-based) or a data source id */
  data_source: string;
  /** "{n}" or a metric name; null for payload "json" (the JSON names the metrics) */
  metric: string | null;
  /** "value" | "json" */
  payload: string;
  /** 0/1 */
  create_sources: number;
  created_at: number;
}

/** mosquitto-compat: an external broker dakkio subscribes to as a client. */
export interface MqttUpstreamsTable {
  id: string;
  owner_id: string;
  url: string;
  username: string | null;
  /** stored as given: it must be presented to the upstream broker */
  password: string | null;
  client_id: string;
  /** JSON array of {filter, qos} */
  subscriptions: string;
  /** 0/1 */
  enabled: number;
  created_at: number;
}

export interface MetadataDatabase {
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  revoked_access_tokens: RevokedAccessTokensTable;
  api_keys: ApiKeysTable;
  buckets: BucketsTable;
  data_sources: DataSourcesTable;
  webhooks: WebhooksTable;
  alert_rules: AlertRulesTable;
  alert_states: AlertStatesTable;
  alert_events: AlertEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  mqtt_credentials: MqttCredentialsTable;
  mqtt_topic_mappings: MqttTopicMappingsTable;
  mqtt_upstreams: MqttUpstreamsTable;
}

export type { Generated };
