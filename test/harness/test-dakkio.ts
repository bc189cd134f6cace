/**
 * Starts a whole dakkio in this process on ephemeral ports with a fresh data dir
 * (or a given one, to test restarts), for end-to-end tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../cli/config.ts';
import { createDakkio, type Dakkio, type DakkioOverrides } from '../../cli/create-dakkio.ts';
import { TEST_SCRYPT_PARAMS } from '../../core/auth/passwords.ts';

export interface TestDakkio {
  dakkio: Dakkio;
  baseUrl: string;
  dataDir: string;
  mqttUrl: string;
  close(): Promise<void>;
  /** close and delete the data dir */
  destroy(): Promise<void>;
}

export function makeTempDir(prefix = 'dakkio-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestDakkio(
  options: { env?: Record<string, string>; dataDir?: string; overrides?: DakkioOverrides } = {},
): Promise<TestDakkio> {
  const dataDir = options.dataDir ?? makeTempDir();
  const config = loadConfig({
    DAKKIO_HTTP_PORT: '0',
    DAKKIO_MQTT_PORT: '0',
    DAKKIO_MQTT_WS_PORT: '0',
    DAKKIO_MQTTS_PORT: '0',
    DAKKIO_MQTT_WSS_PORT: '0',
    DAKKIO_HOST: '127.0.0.1',
    DAKKIO_DATA_DIR: dataDir,
    DAKKIO_WEBHOOK_ALLOW_PRIVATE: 'true',
    DAKKIO_LOG_LEVEL: process.env.DAKKIO_TEST_LOG_LEVEL ?? 'silent',
    ...options.env,
  });
  const logger = pino({ level: config.logLevel });
  const dakkio = await createDakkio(config, logger, { passwordParams: TEST_SCRYPT_PARAMS, ...options.overrides });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await dakkio.close();
  };
  return {
    dakkio,
    dataDir,
    baseUrl: `http://127.0.0.1:${dakkio.ports.http}`,
    mqttUrl: `mqtt://127.0.0.1:${dakkio.ports.mqtt}`,
    close,
    async destroy() {
      await close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
