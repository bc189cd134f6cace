/**
 * API.md: "When the response is 201 the values are durably stored." A real child
 * process is stopped with SIGTERM (graceful) and with SIGKILL (no chance to flush)
 * while writes are in flight; after a restart on the same data dir, every reading
 * that was answered 201 must be there.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createApiClient } from './harness/api-client.ts';
import { type ChildDakkio, childEnv, startChildDakkio } from './harness/child-dakkio.ts';
import { makeTempDir } from './harness/test-dakkio.ts';

const T0 = Date.UTC(2026, 10, 1);

async function setUp(d: ChildDakkio) {
  const api = createApiClient(d.baseUrl);
  const reg = await api('POST', '/api/auth/register', { body: { email: 'dur@example.com', password: 'durability-test' } });
  const token = reg.body.token as string;
  const bucket = await api('POST', '/api/buckets', { token, body: { name: 'b' } });
  const source = await api('POST', `/api/buckets/${bucket.body.id}/data-sources`, { token, body: { name: 's' } });
  const key = await api('POST', '/api/keys', { token, body: { name: 'k', permissions: ['read', 'write'] } });
  return { bucketId: bucket.body.id as string, sourceId: source.body.id as string, apiKey: key.body.secret as string };
}

/** Sends readings with 16 requests in flight until told to stop; returns the timestamps answered 201. */
function writeUntilStopped(baseUrl: string, ids: Awaited<ReturnType<typeof setUp>>) {
  const acked: number[] = [];
  let next = 0;
  let running = true;
  const worker = async () => {
    while (running) {
      const ts = T0 + next++ * 1000;
      try {
        const res = await fetch(`${baseUrl}/api/data`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': ids.apiKey },
          body: JSON.stringify({ bucketId: ids.bucketId, dataSourceId: ids.sourceId, values: { n: ts }, timestamp: ts }),
        });
        if (res.status === 201) acked.push(ts);
        await res.arrayBuffer();
      } catch {
        return; // the server went away
      }
    }
  };
  const workers = Array.from({ length: 16 }, worker);
  return {
    acked,
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

async function storedTimestamps(baseUrl: string, ids: Awaited<ReturnType<typeof setUp>>): Promise<Set<number>> {
  const api = createApiClient(baseUrl);
  const q = await api('GET', `/api/data?bucketId=${ids.bucketId}&metrics=n&from=${T0}&to=${T0 + 86_400_000 * 30}&limit=1000000`, { apiKey: ids.apiKey });
  expect(q.status).toBe(200);
  const points = (q.body.series[0]?.points ?? []) as [string, number][];
  return new Set(points.map(([, v]) => v));
}

describe.each(['SIGTERM', 'SIGKILL'] as const)('durability across %s', (signal) => {
  const dir = makeTempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every reading that was answered 201', async () => {
    const env = childEnv(dir);
    const first = await startChildDakkio(env);
    const ids = await setUp(first);
    const load = writeUntilStopped(first.baseUrl, ids);
    while (load.acked.length < 300) await new Promise((r) => setTimeout(r, 5));
    await first.stop(signal); // requests are still in flight here
    await load.stop();
    const acked = [...load.acked];
    expect(acked.length).toBeGreaterThanOrEqual(300);

    const second = await startChildDakkio(env);
    try {
      const stored = await storedTimestamps(second.baseUrl, ids);
      const missing = acked.filter((ts) => !stored.has(ts));
      expect(missing).toEqual([]);
    } finally {
      await second.stop('SIGTERM');
    }
    // two child-process start-ups on a loaded 2-core machine: a generous bound, not a speed check
  }, 180_000);
});
