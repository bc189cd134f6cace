import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createCoreEnv } from './testing/broker-env.ts';
import { connect } from './testing/mqtt-client.ts';

const CHILD = fileURLToPath(new URL('../test/fixtures/broker-child.ts', import.meta.url));
const T0 = Date.UTC(2026, 10, 28, 10, 0, 0);

function startChild(dir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve({ child, port: (JSON.parse(line) as { mqtt: number }).mqtt }));
    child.once('exit', (code) => reject(new Error(`broker child exited (${code}) before listening: ${stderr}`)));
  });
}

describe('QoS 1 durability across SIGKILL', () => {
  let dir: string | undefined;
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every reading whose PUBACK arrived is in the store after the process is killed', async () => {
    dir = mkdtempSync(join(tmpdir(), 'dakkio-sigkill-'));
    const seed = await createCoreEnv({ dir });
    const t = await seed.createTenant('durable@example.com');
    await seed.close();

    const started = await startChild(dir);
    child = started.child;
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    const dev = await connect(`mqtt://127.0.0.1:${started.port}`, { clientId: 'burst', password: t.secret });
    dev.on('error', () => {}); // the broker vanishing mid-burst is the point

    const N = 400;
    const KILL_AFTER = 300;
    const topic = `dakkio/${t.bucketId}/${t.dataSourceId}/data`;
    const acked: number[] = [];
    let killed = false;
    await new Promise<void>((resolve) => {
      let settled = 0;
      const settle = () => {
        if (++settled === N) resolve();
      };
      for (let i = 0; i < N; i++) {
        dev.publish(topic, JSON.stringify({ values: { seq: i }, timestamp: T0 + i }), { qos: 1 }, (err) => {
          if (!err && !killed) {
            acked.push(i);
            // kill while the rest of the burst is still in flight
            if (acked.length === KILL_AFTER) {
              killed = true;
              child?.kill('SIGKILL');
              dev.end(true);
            }
          }
          settle();
        });
      }
      dev.once('close', () => {
        // publishes that never got an answer are not acknowledged; stop waiting for them
        setImmediate(resolve);
      });
    });
    await exited;
    expect(acked.length).toBeGreaterThanOrEqual(KILL_AFTER);

    const reopened = await createCoreEnv({ dir });
    try {
      const stored = new Set((await reopened.readAll(t.bucketId)).map((p) => p.ts - T0));
      const lost = acked.filter((i) => !stored.has(i));
      expect(lost).toEqual([]);
    } finally {
      await reopened.close();
    }
  });
});
