/**
 * What a user's deleteDataSource and CSV export (streamRaw) of the SQLite store cost the
 * event loop while staging is full (issue 7, round 5, task S): the longest gap between
 * event-loop turns while the call runs, the call's own time, and how many small store
 * writes complete meanwhile.
 *
 *   npx tsx bench/store-user-ops-stall.ts --roots=main:/work/main,branch:. [--rounds=3] \
 *     [--stored=1000000] [--staged=400000]
 *
 * Each root's store code runs in its own child process (`--child`) on a fresh database in
 * a temp dir: `--stored` rows over 3,000 series (300 sources × 10 metrics) merged into
 * `readings` (untimed, one close), then for each operation `--staged` more rows staged
 * (automatic merges off, as just before a 400k-row generation freezes), the operation
 * timed with a 1 ms ticker writing 10 points per tick, then a close/reopen folds staging
 * in (untimed). deleteDataSource deletes one source (10 series); the export streams one
 * source's rows, turning the event loop every 1,000 rows as an HTTP response draining
 * would. Roots alternate within each round. Prints a markdown table; appends nothing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchArgs } from './lib/args.ts';
import { machineInfo } from './lib/machine.ts';
import { median } from './lib/stats.ts';

type Op = 'deleteDataSource' | 'export';
interface OpResult {
  op: Op;
  callMs: number;
  maxGapMs: number;
  writes: number;
  rows: number;
}

const args = benchArgs({
  child: { type: 'boolean', default: false },
  root: { type: 'string', default: '.' },
  roots: { type: 'string', default: 'branch:.' },
  rounds: { type: 'string', default: '3' },
  stored: { type: 'string', default: '1000000' },
  staged: { type: 'string', default: '400000' },
});

const BUCKET = 'b00000000000000000000001';
const SOURCES = 300;
const METRICS = 10;

async function child(): Promise<void> {
  const root = resolve(args.root);
  const { createSqliteReadingStore } = (await import(pathToFileURL(join(root, 'core/store/sqlite-readings-store.ts')).href)) as typeof import('../core/store/sqlite-readings-store.ts');
  const { silentLogger } = (await import(pathToFileURL(join(root, 'core/logger.ts')).href)) as typeof import('../core/logger.ts');
  const dir = mkdtempSync(join(tmpdir(), 'dakkio-user-ops-'));
  const path = join(dir, 'readings.db');
  const open = () => createSqliteReadingStore({ path, logger: silentLogger, mergeThresholdRows: 1e12, mergeDelayMs: 3_600_000 });
  let ts = Date.UTC(2026, 10, 1);
  let k = 0;
  const points = (n: number) =>
    Array.from({ length: n }, () => {
      const i = k++;
      const series = i % (SOURCES * METRICS);
      const source = `d${String(Math.floor(series / METRICS)).padStart(23, '0')}`;
      return { bucketId: BUCKET, dataSourceId: source, metric: `m${series % METRICS}`, ts: ts++, value: i % 100 };
    });
  const fill = async (store: Awaited<ReturnType<typeof open>>, n: number) => {
    for (let i = 0; i < n; i += 1000) await store.write(points(Math.min(1000, n - i)));
  };
  let store = await open();
  await fill(store, Number(args.stored));
  await store.close(); // one merge into `readings`, untimed

  async function measure(op: Op, source: string): Promise<OpResult> {
    store = await open();
    await fill(store, Number(args.staged));
    await new Promise((r) => setImmediate(r));
    let writes = 0;
    let maxGapMs = 0;
    let last = performance.now();
    let done = false;
    const tick = () => {
      const now = performance.now();
      maxGapMs = Math.max(maxGapMs, now - last);
      last = now;
      if (done) return;
      void store.write(points(10)).then(() => writes++);
      setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
    const started = performance.now();
    let rows = 0;
    if (op === 'deleteDataSource') await store.deleteDataSource(BUCKET, source);
    else {
      for await (const _ of store.streamRaw({ bucketId: BUCKET, dataSourceIds: [source], from: 0, to: ts * 2 })) {
        if (++rows % 1000 === 0) await new Promise((r) => setImmediate(r));
      }
    }
    const callMs = performance.now() - started;
    maxGapMs = Math.max(maxGapMs, performance.now() - last);
    done = true;
    await store.close(); // folds staging in, untimed
    return { op, callMs, maxGapMs, writes, rows };
  }

  const out = [await measure('deleteDataSource', `d${'7'.padStart(23, '0')}`), await measure('export', `d${'8'.padStart(23, '0')}`)];
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function parent(): void {
  const self = fileURLToPath(import.meta.url);
  const roots = args.roots.split(',').map((r) => {
    const [name, dir] = r.split(':') as [string, string];
    return { name, dir: resolve(dir) };
  });
  const results = new Map<string, OpResult[]>(roots.map((r) => [r.name, []]));
  const loads: number[] = [];
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const r of roots) {
      loads.push(loadavg()[0]!);
      const argv = ['--import', 'tsx', self, '--child', `--root=${r.dir}`, `--stored=${args.stored}`, `--staged=${args.staged}`];
      const p = spawnSync(process.execPath, argv, { cwd: r.dir, encoding: 'utf8', maxBuffer: 1 << 24 });
      if (p.status !== 0) throw new Error(`${r.name}: child failed: ${p.stderr}`);
      results.get(r.name)!.push(...(JSON.parse(p.stdout.trim().split('\n').pop()!) as OpResult[]));
      process.stderr.write(`round ${round + 1} ${r.name} done\n`);
    }
  }
  const m = machineInfo();
  console.log(
    `\n${new Date().toISOString()} — ${m.cores} cores, ${m.cpuModel}; Node ${m.node}; load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}; ${args.stored} rows stored, ${args.staged} staged, ${SOURCES * METRICS} series`,
  );
  console.log('| root (commit) | call | n | longest event-loop gap ms, median (min–max) | call ms, median (min–max) | writes completed during the call, median | rows |');
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
    for (const op of ['deleteDataSource', 'export'] as const) {
      const xs = results.get(r.name)!.filter((x) => x.op === op);
      console.log(
        `| ${r.name} (${commit}) | ${op} | ${xs.length} | ${spread(xs.map((x) => x.maxGapMs))} | ${spread(xs.map((x) => x.callMs))} | ${median(xs.map((x) => x.writes))} | ${xs.at(-1)?.rows ?? 0} |`,
      );
    }
  }
}

if (args.child) await child();
else parent();
