import type { Kysely } from 'kysely';

/** mosquitto-compat: legacy MQTT credentials, topic mappings, upstream brokers. */
// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving schema type
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('mqtt_credentials')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    // MQTT usernames identify the credential at CONNECT, so they are unique across owners.
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('rules', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('mqtt_credentials_owner').on('mqtt_credentials').column('owner_id').execute();

  await db.schema
    .createTable('mqtt_topic_mappings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('filter', 'text', (c) => c.notNull())
    .addColumn('bucket_id', 'text', (c) => c.notNull().references('buckets.id').onDelete('cascade'))
    .addColumn('data_source', 'text', (c) => c.notNull())
    .addColumn('metric', 'text')
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('create_sources', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('mqtt_topic_mappings_owner').on('mqtt_topic_mappings').column('owner_id').execute();

  await db.schema
    .createTable('mqtt_upstreams')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('username', 'text')
    // Stored as given: dakkio must present it to the upstream broker, so it cannot be hashed.
    .addColumn('password', 'text')
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('subscriptions', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('mqtt_upstreams_owner').on('mqtt_upstreams').column('owner_id').execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['mqtt_upstreams', 'mqtt_topic_mappings', 'mqtt_credentials']) {
    await db.schema.dropTable(t).execute();
  }
}
