import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { BroadcastChannel, Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../logger.ts';
import { startCheckpointer } from './sqlite-checkpointer.ts';
import { createSqliteStatsReader } from './sqlite-stats-reader.ts';
import { newReadingsDb } from './testing/readings-db.ts';

/**
 * Every eval'd worker of this file first runs a probe: a burst of short-lived objects (what grows a
 * young generation), then it reports its new space's committed MiB on a BroadcastChannel. The
 * stores' workers are measured as they are spawned, whatever way they are spawned.
 */
const { PROBE } = vi.hoisted(() => ({
  PROBE: `{
  const v8 = require('node:v8');
  let keep = [];
  for (let i = 0; i < 2e6; i++) { keep.push({ a: i, b: 'x' + i, c: [i] }); if (keep.length > 20000) keep = keep.slice(10000); }
  const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
  const ch = new (require('node:worker_threads').BroadcastChannel)('heap-probe');
  ch.postMessage(s.physical_space_size / 2 ** 20);
  ch.close();
}
`,
}));

vi.mock('node:worker_threads', async (importOriginal) => {
  const wt = await importOriginal<typeof import('node:worker_threads')>();
  class ProbedWorker extends wt.Worker {
    constructor(source: string | URL, options?: import('node:worker_threads').WorkerOptions) {
      super(options?.eval ? PROBE + String(source) : source, options);
    }
  }
  return { ...wt, Worker: ProbedWorker };
});

const B = 'b00000000000000000000001';

describe("the stores' worker threads: a small young generation under the process's 64 MiB semi-space", () => {
  const cleanups: (() => unknown)[] = [];
  let probes: BroadcastChannel;
  const seen: number[] = [];
  beforeAll(() => {
    // what bin/dakkio.mjs puts on node's command line; V8 flags are process-wide
    setFlagsFromString('--max-semi-space-size=64');
    probes = new BroadcastChannel('heap-probe');
    probes.onmessage = (e) => seen.push((e as { data: number }).data);
  });
  afterAll(() => {
    probes.close();
    setFlagsFromString('--max-semi-space-size=0');
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    seen.length = 0;
  });
  const probed = async () => {
    for (let i = 0; i < 1500 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen.length).toBe(1);
    return seen[0]!;
  };
  function dbPath(): string {
    const dir = mkdtempSync(join(tmpdir(), 'dakkio-small-heap-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return join(dir, 'readings.db');
  }

  it('a plain worker under the flag grows a big new space (the premise)', async () => {
    const w = new Worker('', { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 6 } });
    cleanups.push(() => w.terminate());
    // its resourceLimits say 6 MiB, and V8 ignored them: the flag wins
    expect(await probed()).toBeGreaterThan(16);
  });

  it("the stats reader's worker keeps its new space small", async () => {
    const path = dbPath();
    const db = newReadingsDb(path);
    db.close();
    const reader = createSqliteStatsReader(path);
    cleanups.push(() => reader.close());
    expect((await reader.stats(B)).readings).toBe(0);
    expect(await probed()).toBeLessThanOrEqual(8);
  });

  it("the WAL checkpointer's worker keeps its new space small", async () => {
    const path = dbPath();
    const db = new Database(path);
    cleanups.push(() => db.open && db.close());
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)');
    const cp = startCheckpointer(db, { path, logger: silentLogger, intervalMs: 5, startAtBytes: 64 * 1024 });
    cleanups.push(() => cp.close());
    db.prepare(
      'WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 100) INSERT INTO t (k, v) SELECT n, randomblob(3000) FROM i',
    ).run();
    expect(await probed()).toBeLessThanOrEqual(8);
  });
});
