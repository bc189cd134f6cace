/**
 * What deleting a big bucket of the SQLite store costs the event loop while another bucket
 * keeps ingesting (issue 7, round 5, task D): the longest gap between event-loop turns from
 * the call until every row of the bucket is gone from `readings` (on code that deletes in
 * the background, until its deletion backlog is empty), the call's own time, and how many
 * small writes to the other bucket complete meanwhile.
 *
 * `--op=retention` (task R): the hourly retention pass's deleteBefore(A, cutoff) instead, with
 * the cutoff dropping the oldest `--drop` share (default 0.9) of every series of A — what a
 * bucket whose retention was just lowered (365 -> 7 days, say) or a pass after downtime deletes.
 * "until gone" is the call (it resolves when every older row is gone).
 *
 *   npx tsx bench/store-delete-bucket-stall.ts --roots=main:/work/main,branch:. [--rounds=3] \
 *     [--stored=1000000] [--other=100000] [--op=delete-bucket|retention] [--drop=0.9]
 *
 * A template readings.db is built once per `--stored` in the temp dir (reused by later
 * runs): `--stored` rows over 3,000 series (300 sources × 10 metrics, rows 1 s apart) in
 * bucket A's part of `readings`, `--other` rows over 300 series in bucket B's, written in
 * key order straight into the table (the store's own writes would take minutes at 10 M).
 * Each root's store code runs in its own child process (`--child`) on a copy of it: open,
 * then deleteBucket(A) with a 1 ms ticker writing 10 points per tick into bucket B, then a
 * check that A is empty and B complete. Roots alternate within each round. Prints a
 * markdown table; appends nothing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { benchArgs } from './lib/args.ts';
import { machineInfo } from './lib/machine.ts';
import { median } from './lib/stats.ts';

interface Result {
  callMs: number;
  doneMs: number;
  maxGapMs: number;
  writes: number;
  /** event-loop turns the delete was spread over (0: one go) */
  slices: number;
}

const args = benchArgs({
  child: { type: 'boolean', default: false },
  root: { type: 'string', default: '.' },
  roots: { type: 'string', default: 'branch:.' },
  rounds: { type: 'string', default: '3' },
  stored: { type: 'string', default: '1000000' },
  other: { type: 'string', default: '100000' },
  template: { type: 'string', default: '' },
  op: { type: 'string', default: 'delete-bucket' },
  drop: { type: 'string', default: '0.9' },
});

const A = 'b0000000000000000000000a';
const B = 'b0000000000000000000000b';
const T0 = Date.UTC(2026, 0, 1);
const source = (i: number) => `d${String(i).padStart(23, '0')}`;
if (args.op !== 'delete-bucket' && args.op !== 'retention') throw new Error(`--op: delete-bucket or retention, not ${args.op}`);
const retention = args.op === 'retention';
/** rows per series of A in the template (ts T0 + i s), and how many of them the retention cutoff drops */
const perSeriesA = Math.ceil(Number(args.stored) / 3000);
const droppedPerSeries = Math.floor(perSeriesA * Number(args.drop));
const cutoff = T0 + droppedPerSeries * 1000;

async function importStore(root: string) {
  const { createSqliteReadingStore } = (await import(pathToFileURL(join(root, 'core/store/sqlite-readings-store.ts')).href)) as typeof import('../core/store/sqlite-readings-store.ts');
  const { silentLogger } = (await import(pathToFileURL(join(root, 'core/logger.ts')).href)) as typeof import('../core/logger.ts');
  return (path: string) => createSqliteReadingStore({ path, logger: silentLogger, mergeDelayMs: 3_600_000 });
}

/** The store creates the schema and the series rows (one point each); the rest goes straight into `readings`. */
async function buildTemplate(root: string, path: string): Promise<void> {
  const tmp = `${path}.building`;
  rmSync(tmp, { force: true });
  const store = await (await importStore(root))(tmp);
  const seed = (bucketId: string, sources: number) =>
    Array.from({ length: sources * 10 }, (_, s) => ({ bucketId, dataSourceId: source(Math.floor(s / 10)), metric: `m${s % 10}`, ts: T0, value: 0 }));
  await store.write([...seed(A, 300), ...seed(B, 30)]);
  await store.close();
  const db = new Database(tmp);
  const fill = db.prepare(`WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < ? - 1)
    INSERT OR REPLACE INTO readings (series_id, ts, num, txt, kind) SELECT ?, ${T0} + i * 1000, i % 100, NULL, 0 FROM k`);
  for (const [bucketId, rows] of [[A, Number(args.stored)], [B, Number(args.other)]] as const) {
    const ids = db.prepare('SELECT id FROM series WHERE bucket_id = ? ORDER BY id').pluck().all(bucketId) as number[];
    db.transaction(() => {
      for (const id of ids) fill.run(Math.ceil(rows / ids.length), id);
    })();
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  renameSync(tmp, path);
}

async function child(): Promise<void> {
  const open = await importStore(resolve(args.root));
  const dir = mkdtempSync(join(tmpdir(), 'dakkio-delete-bucket-'));
  const path = join(dir, 'readings.db');
  copyFileSync(args.template, path);
  const store = await open(path);
  await new Promise((r) => setImmediate(r));
  /** rows of deleted series still in `readings` (a branch that deletes them in the background says so in health) */
  const detail = async () => (await store.health()).detail as { purgeSeries?: number; purgeSlices?: number; retentionSlices?: number };
  const backlog = async () => (await detail()).purgeSeries ?? 0;
  let ts = T0 + 86_400_000_000;
  let k = 0;
  let writes = 0;
  let maxGapMs = 0;
  let last = performance.now();
  let done = false;
  const tick = () => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    if (done) return;
    const points = Array.from({ length: 10 }, () => {
      const s = k++ % 300;
      return { bucketId: B, dataSourceId: source(Math.floor(s / 10)), metric: `m${s % 10}`, ts: ts++, value: 1 };
    });
    void store.write(points).then(() => writes++);
    setTimeout(tick, 1);
  };
  setTimeout(tick, 1);
  const started = performance.now();
  await (retention ? store.deleteBefore(A, cutoff) : store.deleteBucket(A));
  const callMs = performance.now() - started;
  while ((await backlog()) > 0) await new Promise((r) => setTimeout(r, 2));
  const doneMs = performance.now() - started;
  const slices = (retention ? (await detail()).retentionSlices : (await detail()).purgeSlices) ?? 0;
  maxGapMs = Math.max(maxGapMs, performance.now() - last);
  done = true;
  await new Promise((r) => setTimeout(r, 5));
  const leftA = retention ? [] : await store.queryRaw({ bucketId: A, from: 0, to: ts * 2, limitPerSeries: 1 });
  const countB = (await store.countReadings([B], 0)).total;
  // retention: exactly the rows at or after the cutoff are left in A
  const countA = await store.countReadings([A], cutoff);
  const wantA = retention ? 3000 * (perSeriesA - droppedPerSeries) : 0;
  await store.close();
  const raw = new Database(path, { readonly: true });
  const orphans = raw.prepare('SELECT count(*) FROM readings WHERE series_id NOT IN (SELECT id FROM series)').pluck().get() as number;
  raw.close();
  rmSync(dir, { recursive: true, force: true });
  const wantB = Math.ceil(Number(args.other) / 300) * 300 + writes * 10;
  if (leftA.length > 0 || orphans > 0 || countB !== wantB || countA.total !== wantA || countA.since !== wantA) {
    const a = `A ${countA.total} rows, ${countA.since} at or after the cutoff (want ${wantA})`;
    throw new Error(`wrong result: ${leftA.length} series of A left, ${orphans} orphan rows, ${a}, B ${countB} rows (want ${wantB})`);
  }
  process.stdout.write(`${JSON.stringify({ callMs, doneMs, maxGapMs, writes, slices } satisfies Result)}\n`);
}

async function parent(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const roots = args.roots.split(',').map((r) => {
    const [name, dir] = r.split(':') as [string, string];
    return { name, dir: resolve(dir) };
  });
  const template = args.template || join(tmpdir(), `dakkio-delete-bucket-${args.stored}-${args.other}.db`);
  if (!existsSync(template)) {
    const t = performance.now();
    await buildTemplate(roots[0]!.dir, template);
    process.stderr.write(`template ${template} built in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  }
  const results = new Map<string, Result[]>(roots.map((r) => [r.name, []]));
  const loads: number[] = [];
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const r of roots) {
      loads.push(loadavg()[0]!);
      const argv = ['--import', 'tsx', self, '--child', `--root=${r.dir}`, `--template=${template}`, `--other=${args.other}`];
      argv.push(`--stored=${args.stored}`, `--op=${args.op}`, `--drop=${args.drop}`);
      const p = spawnSync(process.execPath, argv, { cwd: r.dir, encoding: 'utf8', maxBuffer: 1 << 24 });
      if (p.status !== 0) throw new Error(`${r.name}: child failed: ${p.stderr}`);
      results.get(r.name)!.push(JSON.parse(p.stdout.trim().split('\n').pop()!) as Result);
      process.stderr.write(`round ${round + 1} ${r.name} done\n`);
    }
  }
  const m = machineInfo();
  console.log(
    `\n${new Date().toISOString()} — ${m.cores} cores, ${m.cpuModel}; Node ${m.node}; load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}; bucket A ${args.stored} rows over 3,000 series${retention ? `, deleteBefore dropping ${3000 * droppedPerSeries} of them` : ' deleted'}, bucket B ${args.other} rows over 300 series ingesting`,
  );
  console.log('| root (commit) | n | longest event-loop gap ms, median (min–max) | call ms, median (min–max) | until all rows gone ms, median (min–max) | writes to B completed meanwhile, median | slices |');
  console.log('|---|---|---|---|---|---|---|');
  const f = (n: number) => n.toFixed(1);
  const spread = (xs: number[]) => `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
  for (const r of roots) {
    let commit = '?';
    try {
      commit = execFileSync('git', ['-C', r.dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      // not a checkout
    }
    const xs = results.get(r.name)!;
    console.log(
      `| ${r.name} (${commit}) | ${xs.length} | ${spread(xs.map((x) => x.maxGapMs))} | ${spread(xs.map((x) => x.callMs))} | ${spread(xs.map((x) => x.doneMs))} | ${median(xs.map((x) => x.writes))} | ${median(xs.map((x) => x.slices))} |`,
    );
  }
}

if (args.child) await child();
else await parent();
