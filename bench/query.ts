/**
 * Query latency (issue 7, item 5) over GET /api/data on a generated data set:
 * 3,000 series (100 sources × 30 metrics) over 30 days, loaded through
 * POST /api/data/batch; then p50/p95 of four queries for the SQLite store and, with
 * --questdb, the QuestDB store (loaded the same way, in a separate dakkio).
 *
 * Queries start once the server (and QuestDB's JVM) has settled after the load — below
 * 5% of a core for two 1-s windows in a row, at most 90 s — so a store's background work
 * after a bulk load (SQLite's staged merge, QuestDB's WAL apply and partition housekeeping)
 * is not read as query latency. The server CPU each query cost (dakkio, and the JVM) is
 * reported beside its latency: on a shared machine it moves far less than wall time.
 *
 *   npm run bench:query -- [--readings=10000000] [--iterations=20] [--questdb] [--questdb-core=server|generator]
 */
import { benchArgs } from './lib/args.ts';
import { type DakkioFixture, setupDakkio } from './lib/dakkio-setup.ts';
import { cpuMeter, cpuSecondsOf, pinGenerator } from './lib/proc.ts';
import { type BenchQuestDb, questdbPlacement, startBenchQuestDb } from './lib/questdb.ts';
import { recordResults } from './lib/results.ts';
import { startDakkio, stopAll } from './lib/servers.ts';
import { percentile, ratio } from './lib/stats.ts';

const args = benchArgs({
  readings: { type: 'string', default: '10000000' },
  iterations: { type: 'string', default: '20' },
  questdb: { type: 'boolean', default: false },
  'questdb-core': { type: 'string', default: 'server' },
});
const SOURCES = 100;
const METRICS = 30;
const DAY = 86_400_000;
const total = Number(args.readings);
const iterations = Number(args.iterations);
const pin = pinGenerator();
const core = pin?.serverCore;
const { placement: questdbPlace, core: questdbCore } = questdbPlacement(args['questdb-core'], pin);
const perSeries = Math.ceil(total / (SOURCES * METRICS));
// the newest reading is an hour old and every query ends now, so each range is full
const END = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
const START = END - 30 * DAY;
const step = Math.floor((END - START) / perSeries);
const metricNames = Array.from({ length: METRICS }, (_, m) => `m${m}`);

async function load(f: DakkioFixture): Promise<{ seconds: number; points: number }> {
  const READINGS_PER_REQUEST = 1000;
  let next = 0;
  const requests = Math.ceil((perSeries * SOURCES) / READINGS_PER_REQUEST);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < requests) {
        const r = next++;
        const parts: string[] = [];
        for (let k = r * READINGS_PER_REQUEST; k < Math.min((r + 1) * READINGS_PER_REQUEST, perSeries * SOURCES); k++) {
          const s = k % SOURCES;
          const i = Math.floor(k / SOURCES);
          const values = metricNames.map((m, j) => `"${m}":${((i + j + s) % 500) / 10}`).join(',');
          parts.push(`{"dataSourceId":"${f.sourceIds[s]}","values":{${values}},"timestamp":${START + i * step + s}}`);
        }
        const res = await fetch(`${f.baseUrl}/api/data/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': f.apiKey },
          body: `{"bucketId":"${f.bucketId}","readings":[${parts.join(',')}]}`,
        });
        if (res.status !== 201) throw new Error(`batch ${r}: ${res.status} ${(await res.text()).slice(0, 200)}`);
        await res.arrayBuffer();
        if (r % 50 === 0) process.stderr.write(`  loaded ${r}/${requests} requests\n`);
      }
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, points: perSeries * SOURCES * METRICS };
}

const iso = (t: number) => new Date(t).toISOString();
const pick = (n: number) => Math.floor(Math.random() * n);
const queries: { name: string; path: (f: DakkioFixture) => string }[] = [
  {
    name: 'raw, 1 hour, one series',
    path: (f) =>
      `/api/data?bucketId=${f.bucketId}&dataSourceId=${f.sourceIds[pick(SOURCES)]}&metrics=m${pick(METRICS)}&from=${iso(END - 3_600_000)}&to=${iso(END)}`,
  },
  {
    name: 'avg 1m, 1 hour, one series',
    path: (f) =>
      `/api/data?bucketId=${f.bucketId}&dataSourceId=${f.sourceIds[pick(SOURCES)]}&metrics=m${pick(METRICS)}&from=${iso(END - 3_600_000)}&to=${iso(END)}&aggregate=avg&interval=1m`,
  },
  {
    name: 'avg 1h, 30 days, one series',
    path: (f) =>
      `/api/data?bucketId=${f.bucketId}&dataSourceId=${f.sourceIds[pick(SOURCES)]}&metrics=m${pick(METRICS)}&from=${iso(START)}&to=${iso(END + 3_600_000)}&aggregate=avg&interval=1h`,
  },
  { name: 'latest, 100-source bucket', path: (f) => `/api/data/latest?bucketId=${f.bucketId}` },
];

interface StoreResult {
  store: string;
  load: { seconds: number; points: number };
  stored: number;
  latencies: Record<string, number[]>;
  points: Record<string, number>;
  /** server CPU ms per query call: dakkio, and QuestDB's JVM (0 for SQLite) */
  cpuMs: Record<string, { dakkio: number; jvm: number }>;
  settleSeconds: number;
  serverCpu: number;
}

/** Waits until the given processes use < 5% of a core over two 1-s windows in a row (at most 90 s); returns the seconds waited. */
async function settle(pids: number[]): Promise<number> {
  const t0 = performance.now();
  const total = () => pids.reduce((a, pid) => a + cpuSecondsOf(pid), 0);
  let quiet = 0;
  while (quiet < 2 && performance.now() - t0 < 90_000) {
    const c0 = total();
    await new Promise((r) => setTimeout(r, 1000));
    quiet = total() - c0 < 0.05 ? quiet + 1 : 0;
  }
  return (performance.now() - t0) / 1000;
}
const results: StoreResult[] = [];

async function runStore(store: 'sqlite' | 'questdb') {
  let qdb: BenchQuestDb | undefined;
  if (store === 'questdb') qdb = await startBenchQuestDb(questdbCore);
  try {
    const server = await startDakkio(core, {
      store,
      ...(qdb ? { questdbUrl: qdb.server.httpUrl, questdbPgUrl: qdb.server.pgUrl } : {}),
    });
    try {
      const f = await setupDakkio(`http://127.0.0.1:${server.ports.http}`, SOURCES);
      process.stderr.write(
        `${store}: loading ${perSeries * SOURCES * METRICS} readings (${perSeries} per series, every ${Math.round(step / 1000)} s)\n`,
      );
      const loaded = await load(f);
      // a store may make writes visible a little after acknowledging them (QuestDB's WAL)
      let stored = await f.countReadings();
      for (let i = 0; i < 120 && stored < loaded.points; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        stored = await f.countReadings();
      }
      process.stderr.write(`${store}: loaded in ${loaded.seconds.toFixed(0)} s, ${stored} stored\n`);
      const settleSeconds = await settle([server.pid, ...(qdb?.pid ? [qdb.pid] : [])]);
      process.stderr.write(`${store}: settled after ${settleSeconds.toFixed(0)} s\n`);
      const res: StoreResult = {
        store,
        load: loaded,
        stored,
        latencies: {},
        points: {},
        cpuMs: {},
        settleSeconds,
        serverCpu: 0,
      };
      const procs = [{ name: 'server', pid: server.pid }, ...(qdb?.pid ? [{ name: 'qdb', pid: qdb.pid }] : [])];
      const meter = cpuMeter(procs);
      for (const q of queries) {
        const lat: number[] = [];
        const qMeter = cpuMeter(procs);
        for (let i = 0; i < iterations + 2; i++) {
          const t = performance.now();
          const r = await fetch(f.baseUrl + q.path(f), { headers: { 'x-api-key': f.apiKey } });
          const body = (await r.json()) as { series?: { points: unknown[] }[] } | unknown[];
          const ms = performance.now() - t;
          if (r.status !== 200) throw new Error(`${q.name}: ${r.status} ${JSON.stringify(body).slice(0, 200)}`);
          // the first two are warm-up (query plans, page cache)
          if (i >= 2) lat.push(ms);
          res.points[q.name] = Array.isArray(body)
            ? body.length
            : (body.series ?? []).reduce((a, s) => a + s.points.length, 0);
        }
        res.latencies[q.name] = lat;
        const used = qMeter.stop();
        const perCall = (name: string) => ((used[name]?.cpuSeconds ?? 0) * 1000) / (iterations + 2);
        res.cpuMs[q.name] = { dakkio: perCall('server'), jvm: perCall('qdb') };
        process.stderr.write(
          `${store} ${q.name}: p50 ${percentile(lat, 50).toFixed(1)} ms, p95 ${percentile(lat, 95).toFixed(1)} ms, ${res.points[q.name]} points, server CPU ${res.cpuMs[q.name]!.dakkio.toFixed(1)} + JVM ${res.cpuMs[q.name]!.jvm.toFixed(1)} ms/query\n`,
        );
      }
      res.serverCpu = Object.values(meter.stop()).reduce((a, v) => a + v.cpuSeconds, 0);
      results.push(res);
    } finally {
      await server.stop();
    }
  } finally {
    await qdb?.dispose();
  }
}

try {
  await runStore('sqlite');
  if (args.questdb) await runStore('questdb');
} finally {
  await stopAll();
}

const sqlite = results.find((r) => r.store === 'sqlite');
const qdb = results.find((r) => r.store === 'questdb');
const p = (r: StoreResult | undefined, q: string, n: number) => (r ? percentile(r.latencies[q]!, n).toFixed(1) : '—');
const cpu = (r: StoreResult | undefined, q: string) => {
  const c = r?.cpuMs[q];
  if (!c) return '—';
  return r?.store === 'questdb' ? `${c.dakkio.toFixed(1)} + ${c.jvm.toFixed(1)}` : c.dakkio.toFixed(1);
};
recordResults({
  bench: 'bench:query',
  method: `${perSeries * SOURCES * METRICS} readings: ${SOURCES} sources × ${METRICS} metrics = 3,000 series over 30 days (one reading per series every ${Math.round(step / 1000)} s), loaded through POST /api/data/batch (1,000 readings × 30 values per request, 4 in parallel), then queried once the server had settled (< 5% of a core for 2 s). Each query ${iterations} times over GET /api/data with a random series, after 2 warm-up calls; latency is the whole HTTP round trip including JSON; server CPU per query call from /proc (10 ms ticks, averaged over the ${iterations + 2} calls).`,
  tables: [
    {
      columns: [
        'query',
        'points returned',
        'SQLite p50 / p95 ms',
        'QuestDB p50 / p95 ms',
        'QuestDB speed-up (p50)',
        'server CPU ms/query: SQLite',
        'QuestDB (dakkio + JVM)',
      ],
      rows: queries.map((q) => [
        q.name,
        (sqlite ?? qdb)?.points[q.name] ?? '—',
        `${p(sqlite, q.name, 50)} / ${p(sqlite, q.name, 95)}`,
        `${p(qdb, q.name, 50)} / ${p(qdb, q.name, 95)}`,
        sqlite && qdb ? ratio(percentile(sqlite.latencies[q.name]!, 50), percentile(qdb.latencies[q.name]!, 50)) : '—',
        cpu(sqlite, q.name),
        cpu(qdb, q.name),
      ]),
    },
    {
      columns: ['store', 'load time s', 'loaded points/s (HTTP batch)', 'rows stored', 'settled after s'],
      rows: results.map((r) => [
        r.store,
        r.load.seconds.toFixed(0),
        Math.round(r.load.points / r.load.seconds).toLocaleString('en-US'),
        r.stored.toLocaleString('en-US'),
        r.settleSeconds.toFixed(0),
      ]),
    },
  ],
  notes: [
    'Targets (issue 7): SQLite 30-day aggregate p50 < 1 s; QuestDB ≥ 5× faster than SQLite on it.',
    questdbPlace === 'generator'
      ? "Server pinned to core 0, client to core 1 (taskset); QuestDB's JVM pinned to core 1 with the client (--questdb-core=generator: a database on a core of its own, not the recorded placement)."
      : "Server pinned to core 0 (QuestDB's JVM too), client to core 1 (taskset).",
  ],
});
