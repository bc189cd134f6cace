/**
 * HTTP ingest throughput: POST /api/data (one reading per request) and
 * POST /api/data/batch (1,000 readings per request) against dakkio, with a bare
 * Hono endpoint measured in the same run as the baseline. See bench/README.md.
 *
 *   npm run bench:http-ingest -- [--duration=10] [--runs=3] [--connections=100]
 *     [--batch-connections=8] [--questdb] [--sqlite-synchronous=normal,full]
 *
 * --sqlite-synchronous=normal,full: one dakkio SQLite target per DAKKIO_SQLITE_SYNCHRONOUS level,
 *   all up at once, their runs alternated (bench/lib/sqlite-synchronous-targets.ts).
 */
import autocannon from 'autocannon';
import { benchArgs } from './lib/args.ts';
import { type DakkioFixture, setupDakkio } from './lib/dakkio-setup.ts';
import { cpuMeter, pinGenerator } from './lib/proc.ts';
import { type BenchQuestDb, startBenchQuestDb } from './lib/questdb.ts';
import { recordResults } from './lib/results.ts';
import { type ServerProcess, startBareHono, startDakkio, stopAll } from './lib/servers.ts';
import { sqliteSynchronousTargets } from './lib/sqlite-synchronous-targets.ts';
import { fmt, median, ratio, summarize } from './lib/stats.ts';

const args = benchArgs({
  duration: { type: 'string', default: '10' },
  runs: { type: 'string', default: '3' },
  connections: { type: 'string', default: '100' },
  'batch-connections': { type: 'string', default: '8' },
  'batch-size': { type: 'string', default: '1000' },
  questdb: { type: 'boolean', default: false },
  'sqlite-synchronous': { type: 'string' },
});
const syncTargets = sqliteSynchronousTargets(args['sqlite-synchronous']);
const duration = Number(args.duration);
const runs = Number(args.runs);
const BATCH = Number(args['batch-size']);
const SOURCES = 100;
const core = pinGenerator()?.serverCore;

interface Row {
  target: string;
  mode: 'single' | 'batch';
  reqPerSec: number[];
  readingsPerSec: number[];
  p50: number[];
  p99: number[];
  errors: number;
  serverCpu: number[];
  genCpu: number[];
  verified?: boolean[];
}
const rows: Row[] = [];

let tsCounter = Date.now() - 20 * 86_400_000;
const ids = (f?: DakkioFixture) => ({
  bucketId: f?.bucketId ?? 'b'.repeat(24),
  source: (i: number) => f?.sourceIds[i % SOURCES] ?? 'd'.repeat(24),
});

function singleRequests(f?: DakkioFixture) {
  const { bucketId, source } = ids(f);
  let n = 0;
  return [
    {
      method: 'POST',
      path: '/api/data',
      setupRequest(req: { body?: string | Buffer }) {
        // unique (source, timestamp) per request, so every 201 is a stored row
        const i = n++;
        req.body = `{"bucketId":"${bucketId}","dataSourceId":"${source(i)}","values":{"temperature":${20 + (i % 100) / 10}},"timestamp":${tsCounter++}}`;
        return req;
      },
    },
  ];
}

function batchRequests(f?: DakkioFixture) {
  const { bucketId, source } = ids(f);
  return [
    {
      method: 'POST',
      path: '/api/data/batch',
      setupRequest(req: { body?: string | Buffer }) {
        const parts = new Array<string>(BATCH);
        const ts = tsCounter;
        tsCounter += BATCH;
        for (let k = 0; k < BATCH; k++)
          parts[k] =
            `{"dataSourceId":"${source(k)}","values":{"temperature":${20 + (k % 100) / 10}},"timestamp":${ts + k}}`;
        req.body = `{"bucketId":"${bucketId}","readings":[${parts.join(',')}]}`;
        return req;
      },
    },
  ];
}

interface Target {
  name: string;
  server: ServerProcess;
  extraPids: number[];
  fixture?: DakkioFixture;
}

function rowFor(target: string, mode: 'single' | 'batch', stored: boolean): Row {
  let row = rows.find((r) => r.target === target && r.mode === mode);
  if (!row) {
    row = { target, mode, reqPerSec: [], readingsPerSec: [], p50: [], p99: [], errors: 0, serverCpu: [], genCpu: [] };
    if (stored) row.verified = [];
    rows.push(row);
  }
  return row;
}

async function measureOnce(t: Target, mode: 'single' | 'batch', r: number) {
  const { name: target, server, extraPids, fixture: f } = t;
  const row = rowFor(target, mode, Boolean(f));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(f ? { 'x-api-key': f.apiKey } : {}),
  };
  const before = f ? await f.countReadings() : 0;
  const meter = cpuMeter([
    { name: 'server', pid: server.pid },
    ...extraPids.map((pid, i) => ({ name: `x${i}`, pid })),
    { name: 'gen', pid: 'self' as const },
  ]);
  const res = await autocannon({
    url: `http://127.0.0.1:${server.ports.http}`,
    connections: mode === 'single' ? Number(args.connections) : Number(args['batch-connections']),
    duration,
    headers,
    requests: mode === 'single' ? singleRequests(f) : batchRequests(f),
  });
  const cpu = meter.stop();
  const serverCores = Object.entries(cpu)
    .filter(([k]) => k !== 'gen')
    .reduce((a, [, v]) => a + v.cores, 0);
  const ok = res['2xx'];
  const perReq = mode === 'single' ? 1 : BATCH;
  const reqPerSec = ok / res.duration;
  row.reqPerSec.push(reqPerSec);
  row.readingsPerSec.push(reqPerSec * perReq);
  row.p50.push(res.latency.p50);
  row.p99.push(res.latency.p99);
  row.errors += res.errors + res.non2xx + res.timeouts;
  row.serverCpu.push(serverCores);
  row.genCpu.push(cpu.gen!.cores);
  let note = '';
  if (f && row.verified) {
    const stored = (await f.countReadings()) - before;
    // requests still in flight when the run ends are stored but not counted by autocannon
    const inFlight = mode === 'single' ? Number(args.connections) : Number(args['batch-connections']);
    const good = stored >= ok * perReq && stored <= (ok + inFlight + res.errors + res.timeouts) * perReq;
    row.verified.push(good);
    note = ` stored=${stored} expected=${ok * perReq}${good ? '' : ' MISMATCH'}`;
  }
  process.stderr.write(
    `${target} ${mode} run ${r + 1}/${runs}: ${Math.round(reqPerSec)} req/s p50=${res.latency.p50}ms p99=${res.latency.p99}ms ` +
      `non2xx=${res.non2xx} errors=${res.errors} server=${serverCores.toFixed(2)} gen=${cpu.gen!.cores.toFixed(2)}${note}\n`,
  );
}

/** Single requests, then batches; each run goes round every target, so load from elsewhere hits them alike. */
async function measure(targets: Target[]) {
  for (const mode of ['single', 'batch'] as const)
    for (let r = 0; r < runs; r++) for (const t of targets) await measureOnce(t, mode, r);
}

async function startDakkioTarget(
  store: 'sqlite' | 'questdb',
  env: Record<string, string>,
  name: string,
  qdb?: BenchQuestDb,
) {
  const server = await startDakkio(core, {
    store,
    env,
    ...(qdb ? { questdbUrl: qdb.server.httpUrl, questdbPgUrl: qdb.server.pgUrl } : {}),
  });
  const fixture = await setupDakkio(`http://127.0.0.1:${server.ports.http}`, SOURCES);
  return { name, server, extraPids: qdb?.pid ? [qdb.pid] : [], fixture };
}

try {
  const hono = await startBareHono(core);
  try {
    await measure([{ name: 'bare Hono', server: hono, extraPids: [] }]);
  } finally {
    await hono.stop();
  }
  const sqlite: Target[] = [];
  try {
    for (const sync of syncTargets)
      sqlite.push(await startDakkioTarget('sqlite', sync.env, `dakkio sqlite${sync.suffix}`));
    await measure(sqlite);
  } finally {
    for (const t of sqlite) await t.server.stop();
  }
  if (args.questdb) {
    const qdb = await startBenchQuestDb(core);
    try {
      const t = await startDakkioTarget('questdb', {}, 'dakkio questdb', qdb);
      try {
        await measure([t]);
      } finally {
        await t.server.stop();
      }
    } finally {
      await qdb.dispose();
    }
  }
} finally {
  await stopAll();
}

const base = (mode: string) => rows.find((r) => r.target === 'bare Hono' && r.mode === mode);
recordResults({
  bench: 'bench:http-ingest',
  method: `${runs} run(s) of ${duration} s per row with autocannon (in the generator process): single = POST /api/data, ${args.connections} connections; batch = POST /api/data/batch with ${BATCH} readings per request, ${args['batch-connections']} connections. ${SOURCES} data sources, one metric, unique timestamps (every 201 is a stored row).`,
  tables: [
    {
      columns: [
        'target',
        'mode',
        'req/s median (min–max)',
        '× bare Hono req/s',
        'readings/s',
        'latency p50 / p99 ms',
        'non-2xx + errors',
        'rows verified',
        'server CPU (cores)',
        'generator CPU (cores)',
      ],
      rows: rows.map((r) => {
        const b = base(r.mode);
        return [
          r.target,
          r.mode,
          fmt(summarize(r.reqPerSec), 0),
          b ? ratio(median(r.reqPerSec), median(b.reqPerSec)) : '—',
          fmt(summarize(r.readingsPerSec), 0),
          `${median(r.p50)} / ${median(r.p99)}`,
          r.errors,
          r.verified ? (r.verified.every(Boolean) ? 'yes' : 'NO') : '—',
          median(r.serverCpu).toFixed(2),
          median(r.genCpu).toFixed(2),
        ];
      }),
    },
  ],
  notes: [
    'Bare Hono parses the JSON body and answers 201; no auth, validation or storage.',
    'Rows verified: stored rows (GET /api/buckets/:id/stats before and after) are at least the 2xx responses × readings per request, and at most that plus the requests still in flight when autocannon stopped.',
    "Server CPU includes QuestDB's JVM for the QuestDB rows. Servers pinned to core 0, generator to core 1 (taskset).",
  ],
});
