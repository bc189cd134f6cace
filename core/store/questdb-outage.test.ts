/**
 * QuestDB going away under ingest (issue 4, item 6), against a QuestDB of its own
 * (the shared one must stay up for the other suites): writes stay acknowledged via
 * the local spool, reads refuse rather than answer partially, and everything
 * acknowledged ends up in QuestDB exactly once — also across a store restart.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ReadingPoint } from '../readings.ts';
import { makeQuestDbStore, type QuestDbStoreFixture } from '../../test/servers/questdb-fixture.ts';
import { sharedQuestDb } from '../../test/servers/questdb-provided.ts';
import { type QuestDbServer, startQuestDb } from '../../test/servers/questdb.ts';

const T0 = Date.UTC(2026, 10, 28);
const B = 'b00000000000000000000001';
const S = 'd00000000000000000000001';
const pt = (i: number): ReadingPoint => ({ bucketId: B, dataSourceId: S, metric: `m${i % 3}`, ts: T0 + i, value: i });
const all = { bucketId: B, from: 0, to: T0 + 86_400_000, limitPerSeries: 1_000_000 };
const fast = { writeRetryTimeoutMs: 300, drainRetryMs: 100 };

// Only runs where the shared QuestDB could run (same jar, same Java).
const available = sharedQuestDb() !== undefined;

describe.skipIf(!available)('questdb store outage', () => {
  let server: QuestDbServer;
  const fixtures: QuestDbStoreFixture[] = [];

  beforeAll(async () => {
    server = await startQuestDb();
    process.stderr.write(`[questdb] outage-test server started in ${server.lastStartMs} ms\n`);
  });
  afterAll(async () => {
    for (const f of fixtures.splice(0)) await f.cleanup().catch(() => {});
    await server?.dispose();
  });

  const expectExactlyOnce = async (f: QuestDbStoreFixture, acknowledged: ReadingPoint[]) => {
    const series = await f.store.queryRaw(all);
    const got = series.flatMap((s) => s.points.map(([ts, v]) => `${s.metric}@${ts}=${String(v)}`)).sort();
    const want = acknowledged.map((p) => `${p.metric}@${p.ts}=${String(p.value)}`).sort();
    expect(got).toEqual(want);
    expect(await f.store.countReadings([B], 0)).toEqual({ total: want.length, since: want.length });
  };

  it('keeps acknowledging through an outage mid-ingest and lands every point exactly once', async () => {
    const f = await makeQuestDbStore(server, fast);
    fixtures.push(f);
    const acknowledged: ReadingPoint[] = [];
    let next = 0;
    const writeBatch = async () => {
      const batch = Array.from({ length: 50 }, () => pt(next++));
      await f.store.write(batch);
      acknowledged.push(...batch);
    };

    for (let i = 0; i < 5; i++) await writeBatch();
    // Take QuestDB away while batches are in flight.
    const inFlight = Promise.all([writeBatch(), writeBatch(), server.kill(), writeBatch()]);
    await inFlight;
    for (let i = 0; i < 5; i++) await writeBatch();

    expect(f.store.spoolDepth()).toBeGreaterThan(0);
    const health = await f.store.health();
    expect(health).toMatchObject({ ok: false, state: 'degraded', detail: { questdb: 'unreachable' } });
    expect((health.detail as { spoolDepth: number }).spoolDepth).toBe(f.store.spoolDepth());
    await expect(f.store.queryRaw(all)).rejects.toMatchObject({ code: 'store_unavailable' });
    await expect(f.store.latest(B)).rejects.toMatchObject({ code: 'store_unavailable' });

    await server.start();
    // Replays of a batch QuestDB had already taken before dying are absorbed by DEDUP.
    await vi.waitFor(() => expect(f.store.spoolDepth()).toBe(0), { timeout: 25_000, interval: 100 });
    expect((await f.store.health()).state).toBe('ok');
    await writeBatch();
    await expectExactlyOnce(f, acknowledged);
  });

  it('spools when started while QuestDB is down, refuses beyond the bound, and a restarted store drains', async () => {
    await server.stop();
    const first = await makeQuestDbStore(server, { ...fast, spoolMaxPoints: 120 });
    fixtures.push(first);
    const acknowledged = Array.from({ length: 100 }, (_, i) => pt(i));
    await first.store.write(acknowledged.slice(0, 60));
    await first.store.write(acknowledged.slice(60));
    await expect(first.store.write([pt(500), ...Array.from({ length: 30 }, (_, i) => pt(600 + i))])).rejects.toMatchObject({
      code: 'spool_full',
    });
    expect(first.store.spoolDepth()).toBe(100);
    await first.store.close();

    // dakkio comes back with the same spool file; QuestDB is back too.
    await server.start();
    const second = await makeQuestDbStore(server, { ...fast, table: first.table, spoolPath: first.spoolPath });
    fixtures.push(second);
    await vi.waitFor(() => expect(second.store.spoolDepth()).toBe(0), { timeout: 30_000, interval: 100 });
    await expectExactlyOnce(second, acknowledged);
  });

  it('reads answer store_unavailable while QuestDB is down, with nothing spooled', async () => {
    const f = await makeQuestDbStore(server, fast);
    fixtures.push(f);
    await f.store.write([pt(1)]);
    await server.stop();
    await expect(f.store.queryRaw(all)).rejects.toMatchObject({ code: 'store_unavailable' });
    await expect(f.store.stats(B)).rejects.toMatchObject({ code: 'store_unavailable' });
    expect((await f.store.health()).ok).toBe(false);
    await server.start();
    await vi.waitFor(async () => expect((await f.store.latest(B)).map((l) => l.value)).toEqual([1]), {
      timeout: 30_000,
      interval: 200,
    });
  });
});
