/**
 * MQTT ingest throughput: bare Aedes, Mosquitto and dakkio (auth on, PUBACK after
 * commit) under the same lean generator, in one run. See bench/README.md.
 *
 *   npm run bench:mqtt-ingest -- [--duration=10] [--runs=3] [--publishers=10,100]
 *     [--window=20] [--qos=1,0] [--series=100,3000] [--questdb] [--sustained] [--prefill=N]
 *     [--half-rate] [--timestamps=backfill|now] [--questdb-core=server|generator]
 *     [--sqlite-synchronous=normal,full]
 *
 * --sustained: 60 s (or --duration) at 3,000 series, QoS 1, 100 × 20, bare Aedes and
 *   dakkio sqlite, per-second PUBACKs printed.
 * --prefill=N: dakkio (SQLite) starts each run on a fresh copy of a data dir whose
 *   readings table already holds N readings over the largest series count
 *   (bench/lib/prefill.ts; built once, cached under .cache/).
 * --half-rate: per series count, 100 publishers, QoS 1: one run at the maximum rate (window
 *   20), then --runs runs paced at half that rate; reports PUBACK latency p50/p95/p99.
 * --timestamps: `backfill` (default) stamps readings with per-topic counters from 30 days ago,
 *   `now` with wall-clock time, as live devices do (bench/lib/bench-timestamps.ts says what it changes).
 * --sqlite-synchronous=normal,full: one dakkio SQLite target per DAKKIO_SQLITE_SYNCHRONOUS level,
 *   alternated in the same run (bench/lib/sqlite-synchronous-targets.ts).
 */
import { benchArgs, numList } from './lib/args.ts';
import { type TimestampMode, useTimestamps } from './lib/bench-timestamps.ts';
import { attachDakkio, type DakkioFixture, setupDakkio } from './lib/dakkio-setup.ts';
import { runMqttLoad } from './lib/mqtt-load.ts';
import { type Prefilled, prefilledDataDir } from './lib/prefill.ts';
import { cpuMeter, pinGenerator } from './lib/proc.ts';
import { type BenchQuestDb, questdbPlacement, startBenchQuestDb } from './lib/questdb.ts';
import {
  type ServerProcess,
  mosquittoVersion,
  startBareAedes,
  startDakkio,
  startMosquitto,
  stopAll,
} from './lib/servers.ts';
import { type Row, reportMqttIngest } from './lib/mqtt-ingest-report.ts';
import { sqliteSynchronousTargets, type SqliteSynchronousTarget } from './lib/sqlite-synchronous-targets.ts';
import { percentile } from './lib/stats.ts';

const args = benchArgs({
  duration: { type: 'string' },
  runs: { type: 'string', default: '3' },
  publishers: { type: 'string', default: '10,100' },
  window: { type: 'string', default: '20' },
  qos: { type: 'string', default: '1,0' },
  series: { type: 'string', default: '100,3000' },
  questdb: { type: 'boolean', default: false },
  'questdb-core': { type: 'string', default: 'server' },
  sustained: { type: 'boolean', default: false },
  prefill: { type: 'string', default: '0' },
  'half-rate': { type: 'boolean', default: false },
  timestamps: { type: 'string', default: 'backfill' },
  'sqlite-synchronous': { type: 'string' },
});
const syncTargets = sqliteSynchronousTargets(args['sqlite-synchronous']);
if (args.timestamps !== 'now' && args.timestamps !== 'backfill')
  throw new Error('--timestamps must be now or backfill');
useTimestamps(args.timestamps as TimestampMode);
const sustained = args.sustained;
const halfRate = args['half-rate'];
const prefillRows = Number(args.prefill);
const durationMs = Number(args.duration ?? (sustained ? '60' : '10')) * 1000;
const runs = sustained ? 1 : Number(args.runs);
const window = Number(args.window);
const publisherCounts = sustained || halfRate ? [100] : numList(args.publishers);
const qosList = (sustained || halfRate ? [1] : numList(args.qos)) as (0 | 1)[];
const seriesList = sustained ? [3000] : numList(args.series);
const maxSeries = Math.max(...seriesList);
const prefill: Prefilled | undefined = prefillRows > 0 ? await prefilledDataDir(prefillRows, maxSeries) : undefined;
if (prefill) {
  process.stderr.write(
    `prefill: ${prefillRows} readings over ${maxSeries} series ${prefill.fromCache ? 'from the cache' : `built in ${prefill.builtInS.toFixed(0)} s`}\n`,
  );
}

const pin = pinGenerator();
const core = pin?.serverCore;
const { placement: questdbPlace, core: questdbCore } = questdbPlacement(args['questdb-core'], pin);

const rows: Row[] = [];

/** Topics of the generator: dakkio's data topics, or the same shape for the baselines. */
function topicsFor(series: number, publishers: number, fixture?: DakkioFixture) {
  const topic = (s: number) =>
    fixture
      ? `dakkio/${fixture.bucketId}/${fixture.sourceIds[s]}/data`
      : `dakkio/bench/s${String(s).padStart(5, '0')}/data`;
  return (p: number) => {
    const out: string[] = [];
    for (let s = p % series; s < series; s += publishers) out.push(topic(s));
    return out.length ? out : [topic(p % series)];
  };
}

async function waitStable(count: () => Promise<number>): Promise<number> {
  let last = await count();
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await count();
    if (now === last) return now;
    last = now;
  }
}

interface Target {
  name: string;
  server: ServerProcess;
  extraPids: number[];
  series: number[];
  fixture?: DakkioFixture;
  /** prefilled targets: a new server on a fresh copy of the pre-filled data dir, before each run */
  restart?(): Promise<void>;
}

function rowFor(target: string, series: number, publishers: number, qos: 0 | 1, stored: boolean, rate?: number): Row {
  let row = rows.find(
    (r) =>
      r.target === target &&
      r.series === series &&
      r.publishers === publishers &&
      r.qos === qos &&
      r.pacedRate === rate,
  );
  if (!row) {
    row = { target, series, publishers, qos, results: [], serverCpu: [], genCpu: [], pacedRate: rate };
    if (stored) row.stored = { perSecond: [], verified: [] };
    rows.push(row);
  }
  return row;
}

async function measureOnce(t: Target, series: number, publishers: number, qos: 0 | 1, r: number, rate?: number) {
  await t.restart?.();
  const { server, fixture } = t;
  const row = rowFor(t.name, series, publishers, qos, Boolean(fixture), rate);
  const before = fixture ? await fixture.countReadings() : 0;
  const meter = cpuMeter([
    { name: 'server', pid: server.pid },
    ...t.extraPids.map((pid, i) => ({ name: `extra${i}`, pid })),
    { name: 'gen', pid: 'self' as const },
  ]);
  const res = await runMqttLoad({
    port: server.ports.mqtt!,
    publishers,
    window,
    qos,
    durationMs,
    rate,
    topicsFor: topicsFor(series, publishers, fixture),
    username: fixture ? 'bench-device' : undefined,
    password: fixture ? () => fixture.apiKey : undefined,
  });
  const cpu = meter.stop();
  const serverCores = Object.entries(cpu)
    .filter(([k]) => k !== 'gen')
    .reduce((a, [, v]) => a + v.cores, 0);
  row.results.push(res);
  row.serverCpu.push(serverCores);
  row.genCpu.push(cpu.gen!.cores);
  let note = '';
  if (fixture && row.stored) {
    const after = await waitStable(() => fixture.countReadings());
    const stored = after - before;
    row.stored.perSecond.push((stored * res.perSecond) / Math.max(1, res.totalAcked));
    const ok = qos === 1 ? stored === res.totalAcked : stored <= res.totalAcked;
    row.stored.verified.push(ok);
    note = ` stored=${stored} acked=${res.totalAcked}${ok ? '' : ' MISMATCH'}`;
  }
  process.stderr.write(
    `${t.name} series=${series} pubs=${publishers} qos=${qos}${rate ? ` paced=${Math.round(rate)}/s` : ''} run ${r + 1}/${runs}: ${Math.round(res.perSecond)}/s ` +
      `p50=${percentile(res.latencies, 50).toFixed(1)}ms p95=${percentile(res.latencies, 95).toFixed(1)}ms p99=${percentile(res.latencies, 99).toFixed(1)}ms ` +
      `server=${serverCores.toFixed(2)} gen=${cpu.gen!.cores.toFixed(2)} cores dropped=${res.dropped}${note}\n`,
  );
  if (sustained) process.stderr.write(`  per second: ${res.timeline.join(' ')}\n`);
  return res;
}

async function dakkioTarget(
  store: 'sqlite' | 'questdb',
  cleanup: (() => Promise<void>)[],
  sync: SqliteSynchronousTarget = { suffix: '', env: {} },
): Promise<Target> {
  let qdb: BenchQuestDb | undefined;
  if (store === 'questdb') {
    qdb = await startBenchQuestDb(questdbCore);
    cleanup.push(() => qdb!.dispose());
  }
  if (store === 'sqlite' && prefill) {
    const start = async () => {
      const server = await startDakkio(core, { store, dataDir: prefill.copy(), env: sync.env });
      return { server, fixture: await attachDakkio(`http://127.0.0.1:${server.ports.http}`, prefill.saved) };
    };
    const t: Target = { name: `dakkio ${store}${sync.suffix}`, extraPids: [], series: seriesList, ...(await start()) };
    let first = true;
    t.restart = async () => {
      // the first run uses the server started here; every later one a fresh copy
      if (first) {
        first = false;
        return;
      }
      await t.server.stop();
      Object.assign(t, await start());
    };
    return t;
  }
  const server = await startDakkio(core, {
    store,
    env: sync.env,
    ...(qdb ? { questdbUrl: qdb.server.httpUrl, questdbPgUrl: qdb.server.pgUrl } : {}),
  });
  const fixture = await setupDakkio(`http://127.0.0.1:${server.ports.http}`, maxSeries);
  const name =
    store === 'questdb' && questdbPlace === 'generator'
      ? "dakkio questdb (JVM on the generator's core)"
      : `dakkio ${store}${sync.suffix}`;
  return { name, server, extraPids: qdb?.pid ? [qdb.pid] : [], series: seriesList, fixture };
}

const cleanup: (() => Promise<void>)[] = [];
try {
  // every target stays up (idle) and the runs alternate between them, so a burst of load
  // from elsewhere on this shared machine hits every target alike
  const targets: Target[] = [];
  const minSeries = [Math.min(...seriesList)];
  if (!halfRate)
    targets.push({ name: 'bare Aedes', server: await startBareAedes(core), extraPids: [], series: minSeries });
  if (!sustained && !halfRate) {
    targets.push({
      name: `Mosquitto ${mosquittoVersion()}`,
      server: await startMosquitto(core),
      extraPids: [],
      series: minSeries,
    });
  }
  for (const sync of syncTargets) targets.push(await dakkioTarget('sqlite', cleanup, sync));
  if (args.questdb) targets.push(await dakkioTarget('questdb', cleanup));
  if (halfRate) {
    // per target and series count: the maximum rate first, then paced runs at half of it
    for (const series of seriesList)
      for (const t of targets) {
        const max = await measureOnce(t, series, 100, 1, 0);
        for (let r = 0; r < runs; r++) await measureOnce(t, series, 100, 1, r, max.perSecond / 2);
      }
  } else {
    for (const series of seriesList)
      for (const publishers of publisherCounts)
        for (const qos of qosList)
          for (let r = 0; r < runs; r++)
            for (const t of targets) if (t.series.includes(series)) await measureOnce(t, series, publishers, qos, r);
  }
} finally {
  await stopAll();
  for (const c of cleanup) await c();
}

reportMqttIngest({
  rows,
  window,
  runs,
  durationMs,
  sustained,
  halfRate,
  prefillRows,
  prefilled: Boolean(prefill),
  maxSeries,
  timestamps: args.timestamps as TimestampMode,
  questdbPlacement: questdbPlace,
});
