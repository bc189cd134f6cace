/**
 * What `stats` and `countReadings` of the SQLite store cost the event loop on a large
 * table (task F of issue 7's third round): each call's latency, the longest gap between
 * event-loop turns while it is pending, the main thread's busy time (event-loop
 * utilisation) meanwhile, and how many small store writes complete during it.
 *
 *   npx tsx bench/store-stats-stall.ts --db=.cache/prefill-10000000x3000/data/readings.db \
 *     --roots=main:/work/main,branch:. [--rounds=3] [--calls=2] [--staged=20000] [--pin=0]
 *
 * Each root's store code is run in its own child process (`--child`) on its own copy of
 * the readings database (copied once per root, reused across rounds); roots alternate
 * within each round so load from elsewhere hits each alike. Before every call 20,000
 * points are written (staged, as under ingest), then a 1 ms ticker writes 10 points per
 * tick while the call is pending. One untimed warm-up call per child and kind.
 * `--pin=N` runs the children under `taskset -c N` (worker and main thread share a core).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { benchArgs } from './lib/args.ts';
import { machineInfo } from './lib/machine.ts';
import { median } from './lib/stats.ts';

interface CallResult {
  kind: 'stats' | 'count';
  ms: number;
  maxGapMs: number;
  busyMs: number;
  writes: number;
  readings: number;
}

const args = benchArgs({
  child: { type: 'boolean', default: false },
  root: { type: 'string', default: '.' },
  db: { type: 'string', default: '.cache/prefill-10000000x3000/data/readings.db' },
  roots: { type: 'string', default: 'branch:.' },
  rounds: { type: 'string', default: '3' },
  calls: { type: 'string', default: '2' },
  staged: { type: 'string', default: '20000' },
  pin: { type: 'string', default: '' },
});

async function child(): Promise<void> {
  const mod = (await import(pathToFileURL(join(resolve(args.root), 'core/store/sqlite-readings-store.ts')).href)) as {
    createSqliteReadingStore: typeof import('../core/store/sqlite-readings-store.ts').createSqliteReadingStore;
  };
  const { silentLogger } = await import(pathToFileURL(join(resolve(args.root), 'core/logger.ts')).href);
  const meta = new Database(args.db, { readonly: true });
  const series = meta.prepare('SELECT bucket_id, source_id, metric FROM series ORDER BY id').all() as {
    bucket_id: string;
    source_id: string;
    metric: string;
  }[];
  meta.close();
  const bucketId = series[0]!.bucket_id;
  const store = await mod.createSqliteReadingStore({ path: args.db, logger: silentLogger });
  let ts = Date.now();
  let k = 0;
  const points = (n: number) =>
    Array.from({ length: n }, () => {
      const s = series[k++ % series.length]!;
      return { bucketId: s.bucket_id, dataSourceId: s.source_id, metric: s.metric, ts: ts++, value: k % 100 };
    });
  const staged = Number(args.staged);
  const call = (kind: CallResult['kind']) =>
    kind === 'stats'
      ? store.stats(bucketId).then((s) => s.readings)
      : store.countReadings([bucketId], 0).then((c) => c.total);

  async function measure(kind: CallResult['kind']): Promise<CallResult> {
    for (let i = 0; i < staged; i += 1000) await store.write(points(Math.min(1000, staged - i)));
    await new Promise((r) => setImmediate(r));
    let writes = 0;
    let maxGapMs = 0;
    let last = performance.now();
    let done = false;
    const elu0 = performance.eventLoopUtilization();
    const started = performance.now();
    const tick = () => {
      const now = performance.now();
      maxGapMs = Math.max(maxGapMs, now - last);
      last = now;
      if (done) return;
      void store.write(points(10)).then(() => writes++);
      setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
    const readings = await call(kind);
    const ms = performance.now() - started;
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    done = true;
    const busyMs = performance.eventLoopUtilization(elu0).active;
    return { kind, ms, maxGapMs, busyMs, writes, readings };
  }

  const out: CallResult[] = [];
  for (const kind of ['stats', 'count'] as const) {
    await measure(kind); // warm-up: page cache, worker start
    for (let i = 0; i < Number(args.calls); i++) out.push(await measure(kind));
  }
  await store.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function parent(): void {
  const self = fileURLToPath(import.meta.url);
  const work = mkdtempSync(join(tmpdir(), 'dakkio-stats-stall-'));
  const roots = args.roots.split(',').map((r) => {
    const [name, dir] = r.split(':') as [string, string];
    const db = join(work, `${name}.db`);
    copyFileSync(resolve(args.db), db);
    return { name, dir: resolve(dir), db };
  });
  const results = new Map<string, CallResult[]>(roots.map((r) => [r.name, []]));
  const loads: number[] = [];
  try {
    for (let round = 0; round < Number(args.rounds); round++) {
      for (const r of roots) {
        loads.push(loadavg()[0]!);
        const cmd = [
          'npx',
          'tsx',
          self,
          '--child',
          `--root=${r.dir}`,
          `--db=${r.db}`,
          `--calls=${args.calls}`,
          `--staged=${args.staged}`,
        ];
        const argv = args.pin ? ['taskset', '-c', args.pin, ...cmd] : cmd;
        const p = spawnSync(argv[0]!, argv.slice(1), { cwd: r.dir, encoding: 'utf8', maxBuffer: 1 << 24 });
        if (p.status !== 0) throw new Error(`${r.name}: child failed: ${p.stderr}`);
        const line = p.stdout.trim().split('\n').pop()!;
        results.get(r.name)!.push(...(JSON.parse(line) as CallResult[]));
        process.stderr.write(`round ${round + 1} ${r.name} done\n`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const m = machineInfo();
  console.log(
    `\n${new Date().toISOString()} — ${m.cores} cores, ${m.cpuModel}; Node ${m.node}; load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}; pin ${args.pin || 'none'}`,
  );
  console.log(
    '| root (commit) | call | n | latency ms median (min–max) | longest event-loop gap ms median (max) | main-thread busy ms median | writes completed during the call, median | readings |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of roots) {
    let commit = '?';
    try {
      commit = execFileSync('git', ['-C', r.dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    } catch {
      // not a checkout
    }
    for (const kind of ['stats', 'count'] as const) {
      const xs = results.get(r.name)!.filter((x) => x.kind === kind);
      const lat = xs.map((x) => x.ms);
      const gap = xs.map((x) => x.maxGapMs);
      const f = (n: number) => n.toFixed(1);
      console.log(
        `| ${r.name} (${commit}) | ${kind === 'stats' ? 'stats' : 'countReadings'} | ${xs.length} | ${f(median(lat))} (${f(Math.min(...lat))}–${f(Math.max(...lat))}) | ${f(median(gap))} (${f(Math.max(...gap))}) | ${f(median(xs.map((x) => x.busyMs)))} | ${median(xs.map((x) => x.writes))} | ${xs.at(-1)?.readings ?? 0} |`,
      );
    }
  }
}

if (args.child) await child();
else parent();
