/**
 * The one place that reads process.env (DESIGN.md convention 3). Every setting is
 * declared once here — name, default, parser, help text — so `dakkio --help` and
 * validation can't drift apart. A bad value stops start-up with one line naming
 * the setting.
 */
import { z } from 'zod';
import { SQLITE_SYNCHRONOUS_LEVELS } from '../core/store/sqlite-synchronous.ts';

const port = z.coerce.number().int().min(0).max(65535);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const positiveInt = z.coerce.number().int().positive();
const optionalString = z.string().min(1).optional();
const httpUrl = z.url({ protocol: /^https?$/ });

interface Setting<T extends z.ZodType> {
  env: string;
  schema: T;
  default?: string;
  help: string;
}

const setting = <T extends z.ZodType>(s: Setting<T>) => s;

export const settings = {
  httpPort: setting({
    env: 'DAKKIO_HTTP_PORT',
    schema: port,
    default: '3000',
    help: 'HTTP API port (0 = pick a free port)',
  }),
  mqttPort: setting({ env: 'DAKKIO_MQTT_PORT', schema: port, default: '1883', help: 'MQTT over TCP port' }),
  mqttWsPort: setting({
    env: 'DAKKIO_MQTT_WS_PORT',
    schema: port,
    default: '8083',
    help: 'MQTT over WebSocket port (path /mqtt)',
  }),
  mqttsPort: setting({
    env: 'DAKKIO_MQTTS_PORT',
    schema: port,
    default: '8883',
    help: 'MQTT over TLS port (only with DAKKIO_TLS_CERT/KEY)',
  }),
  mqttWssPort: setting({
    env: 'DAKKIO_MQTT_WSS_PORT',
    schema: port,
    default: '8084',
    help: 'MQTT over secure WebSocket port (only with TLS)',
  }),
  host: setting({
    env: 'DAKKIO_HOST',
    schema: z.string().min(1),
    default: '0.0.0.0',
    help: 'bind address for every listener',
  }),
  dataDir: setting({
    env: 'DAKKIO_DATA_DIR',
    schema: z.string().min(1),
    default: './data',
    help: 'where SQLite files, the JWT secret and spools live',
  }),
  store: setting({
    env: 'DAKKIO_STORE',
    schema: z.enum(['sqlite', 'questdb']),
    default: 'sqlite',
    help: 'readings store: sqlite (embedded) or questdb',
  }),
  sqliteSynchronous: setting({
    env: 'DAKKIO_SQLITE_SYNCHRONOUS',
    schema: z.enum(SQLITE_SYNCHRONOUS_LEVELS),
    default: 'normal',
    help: 'SQLite commits (readings.db, dakkio.db): normal = acknowledged data survives a crash of dakkio, not a power cut or OS crash; full = fsync per commit, survives both',
  }),
  questdbUrl: setting({
    env: 'DAKKIO_QUESTDB_URL',
    schema: httpUrl.optional(),
    help: "QuestDB's HTTP endpoint (ILP/HTTP writes and /exec), e.g. http://127.0.0.1:9000",
  }),
  questdbPgUrl: setting({
    env: 'DAKKIO_QUESTDB_PG_URL',
    schema: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    help: "QuestDB's PostgreSQL-wire endpoint for reads, e.g. postgres://admin:quest@127.0.0.1:8812/qdb",
  }),
  questdbSpoolMaxPoints: setting({
    env: 'DAKKIO_QUESTDB_SPOOL_MAX_POINTS',
    schema: positiveInt,
    default: '5000000',
    help: 'readings kept in the local spool while QuestDB is down; when full, ingest refuses',
  }),
  jwtSecret: setting({
    env: 'DAKKIO_JWT_SECRET',
    schema: z.string().min(32, 'must be at least 32 characters').optional(),
    help: 'HMAC secret for access tokens (generated and kept in the data dir when unset)',
  }),
  allowSignup: setting({
    env: 'DAKKIO_ALLOW_SIGNUP',
    schema: bool,
    default: 'true',
    help: 'allow POST /api/auth/register',
  }),
  webhookAllowPrivate: setting({
    env: 'DAKKIO_WEBHOOK_ALLOW_PRIVATE',
    schema: bool,
    default: 'false',
    help: 'allow webhook URLs on loopback/private addresses and plain http',
  }),
  tlsCert: setting({
    env: 'DAKKIO_TLS_CERT',
    schema: optionalString,
    help: 'PEM certificate path: serve HTTPS and add MQTT TLS listeners',
  }),
  tlsKey: setting({
    env: 'DAKKIO_TLS_KEY',
    schema: optionalString,
    help: 'PEM private key path (with DAKKIO_TLS_CERT)',
  }),
  publicOrigin: setting({
    env: 'DAKKIO_PUBLIC_ORIGIN',
    schema: httpUrl.optional(),
    help: "the dashboard's origin, e.g. https://iot.example.com (CSRF rule behind a proxy)",
  }),
  corsOrigins: setting({
    env: 'DAKKIO_CORS_ORIGINS',
    schema: z.string().optional(),
    help: 'comma-separated origins allowed by CORS (never with credentials); unset = none',
  }),
  metricsToken: setting({
    env: 'DAKKIO_METRICS_TOKEN',
    schema: z.string().min(16, 'must be at least 16 characters').optional(),
    help: 'Bearer token for GET /api/metrics (Prometheus text: broker and ingest counters); unset = endpoint off',
  }),
  logLevel: setting({
    env: 'DAKKIO_LOG_LEVEL',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    help: 'log level',
  }),
  mqttAllowAnonymous: setting({
    env: 'DAKKIO_MQTT_ALLOW_ANONYMOUS',
    schema: bool,
    default: 'false',
    help: 'accept MQTT connections without credentials (they get no rights on dakkio/ topics)',
  }),
  mqttPublishRatePerKey: setting({
    env: 'DAKKIO_MQTT_PUBLISH_RATE_PER_KEY',
    schema: z.coerce.number().int().min(0),
    default: '5000',
    help: 'MQTT publishes per second allowed per API key (0 = unlimited)',
  }),
  memoryReleaseQuietMs: setting({
    env: 'DAKKIO_MEMORY_RELEASE_QUIET_MS',
    schema: z.coerce.number().int().min(0),
    default: '20000',
    help: 'ms the broker must stay quiet, after load, before it hands grown heap and malloc memory back to the OS',
  }),
  mqttConnectRatePerIp: setting({
    env: 'DAKKIO_MQTT_CONNECT_RATE_PER_IP',
    schema: z.coerce.number().int().min(0),
    default: '100',
    help: 'MQTT connection attempts per second allowed per client IP (0 = unlimited)',
  }),
} as const;

type Settings = typeof settings;
export type Config = { [K in keyof Settings]: z.output<Settings[K]['schema']> };

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Parses settings from an environment (process.env in production, a plain object in tests). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings) as [keyof Settings, Setting<z.ZodType>][]) {
    const raw = env[s.env];
    const value = raw === undefined || raw === '' ? s.default : raw;
    const parsed = s.schema.safeParse(value);
    if (!parsed.success) {
      const reason = parsed.error.issues[0]?.message ?? 'invalid value';
      throw new ConfigError(s.env, `invalid value ${JSON.stringify(raw)} (${reason}); ${s.help}`);
    }
    out[key] = parsed.data;
  }
  const config = out as Config;
  if (config.store === 'questdb' && !config.questdbUrl) {
    throw new ConfigError('DAKKIO_QUESTDB_URL', 'is required when DAKKIO_STORE=questdb (e.g. http://127.0.0.1:9000)');
  }
  if (Boolean(config.tlsCert) !== Boolean(config.tlsKey)) {
    throw new ConfigError(
      config.tlsCert ? 'DAKKIO_TLS_KEY' : 'DAKKIO_TLS_CERT',
      'DAKKIO_TLS_CERT and DAKKIO_TLS_KEY must be set together',
    );
  }
  return config;
}

export function settingsHelp(): string {
  const rows = Object.values(settings).map((s) => {
    const def = 'default' in s && s.default !== undefined ? ` (default ${s.default})` : '';
    return `  ${s.env.padEnd(34)} ${s.help}${def}`;
  });
  return rows.join('\n');
}
