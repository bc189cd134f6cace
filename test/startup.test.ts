/**
 * API.md "Running": a port in use, an unwritable data dir or an invalid setting
 * stops start-up with one clear line naming the setting, and exit code 1.
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv, runDakkio, startChildDakkio } from './harness/child-dakkio.ts';
import { makeTempDir } from './harness/test-dakkio.ts';

describe('dakkio start-up', () => {
  let dir: string;
  let blocker: Server;
  let takenPort: number;
  beforeAll(async () => {
    dir = makeTempDir();
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    takenPort = (blocker.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((r) => blocker.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('names DAKKIO_HTTP_PORT when the HTTP port is taken', async () => {
    const r = await runDakkio(['start'], childEnv(join(dir, 'a'), { DAKKIO_HTTP_PORT: String(takenPort) }));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/port \d+ is already in use; set DAKKIO_HTTP_PORT/);
  });

  it('names DAKKIO_MQTT_PORT when the MQTT port is taken', async () => {
    const r = await runDakkio(['start'], childEnv(join(dir, 'b'), { DAKKIO_MQTT_PORT: String(takenPort) }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DAKKIO_MQTT_PORT');
  });

  it('names DAKKIO_DATA_DIR when the data dir is not writable', async () => {
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, 'x');
    const r = await runDakkio(['start'], childEnv(join(file, 'data')));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DAKKIO_DATA_DIR');
  });

  it('names the setting with an invalid value', async () => {
    const r = await runDakkio(['start'], childEnv(join(dir, 'c'), { DAKKIO_STORE: 'mongodb' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^dakkio: invalid setting DAKKIO_STORE: /);
    const r2 = await runDakkio(['start'], childEnv(join(dir, 'c'), { DAKKIO_HTTP_PORT: 'eighty' }));
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain('DAKKIO_HTTP_PORT');
  });

  it('lists every setting in --help', async () => {
    const r = await runDakkio(['--help'], childEnv(dir));
    expect(r.code).toBe(0);
    for (const s of ['DAKKIO_HTTP_PORT', 'DAKKIO_MQTT_PORT', 'DAKKIO_MQTT_WS_PORT', 'DAKKIO_DATA_DIR', 'DAKKIO_STORE', 'DAKKIO_QUESTDB_URL', 'DAKKIO_JWT_SECRET', 'DAKKIO_TLS_CERT', 'DAKKIO_PUBLIC_ORIGIN', 'DAKKIO_LOG_LEVEL']) {
      expect(r.stdout).toContain(s);
    }
  });

  it('logs the chosen ports in one "listening" line, keeps the JWT secret private, and stops cleanly on SIGTERM', async () => {
    const dataDir = join(dir, 'ok');
    mkdirSync(dataDir);
    const d = await startChildDakkio(childEnv(dataDir));
    expect(d.ports.http).toBeGreaterThan(0);
    expect(d.ports.mqtt).toBeGreaterThan(0);
    expect(d.ports.mqttWs).toBeGreaterThan(0);
    const res = await fetch(`${d.baseUrl}/api/health`);
    expect(res.status).toBe(200);
    const { statSync } = await import('node:fs');
    expect(statSync(join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);
    expect(await d.stop('SIGTERM')).toBe(0);
  });

  it('refuses a data dir it cannot write (permissions)', async () => {
    if (process.getuid?.() === 0) {
      // root ignores file modes; the not-a-directory case above covers the path for root.
      return;
    }
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o500);
    const r = await runDakkio(['start'], childEnv(ro));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DAKKIO_DATA_DIR');
  });
});
