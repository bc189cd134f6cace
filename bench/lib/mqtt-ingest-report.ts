/**
 * The mqtt-ingest report: the max-rate table (ratios to bare Aedes and Mosquitto of the
 * same run, stored rows, CPU), the paced half-rate table, the notes, appended to
 * bench/RESULTS.md. Split from mqtt-ingest.ts, which runs the load.
 */
import type { TimestampMode } from './bench-timestamps.ts';
import type { LoadResult } from './mqtt-load.ts';
import { recordResults } from './results.ts';
import { fmt, median, percentile, ratio, summarize } from './stats.ts';

export interface Row {
  target: string;
  series: number;
  publishers: number;
  qos: 0 | 1;
  results: LoadResult[];
  serverCpu: number[];
  genCpu: number[];
  stored?: { perSecond: number[]; verified: boolean[] };
  /** half-rate rows: the paced aggregate rate */
  pacedRate?: number;
}

export interface ReportOptions {
  rows: Row[];
  window: number;
  runs: number;
  durationMs: number;
  sustained: boolean;
  halfRate: boolean;
  prefillRows: number;
  prefilled: boolean;
  maxSeries: number;
  /** how the generator stamped the readings (bench/lib/bench-timestamps.ts) */
  timestamps: TimestampMode;
  /** which core QuestDB's JVM was pinned to (--questdb-core) */
  questdbPlacement: 'server' | 'generator';
}

export function reportMqttIngest(o: ReportOptions): void {
  const { rows, window, runs, durationMs, sustained, halfRate, prefillRows, maxSeries } = o;
  const prefill = o.prefilled;
  const ref = (name: string, r: Row) =>
    rows.find((b) => b.target.startsWith(name) && b.publishers === r.publishers && b.qos === r.qos);
  const rate = (r: Row) => summarize(r.results.map((x) => x.perSecond));
  const perCpu = (r: Row) => median(r.results.map((x, i) => x.perSecond / Math.max(0.01, r.serverCpu[i]!)));
  const pct = (r: Row, p: number) => summarize(r.results.map((x) => percentile(x.latencies, p)));
  const maxRows = rows.filter((r) => r.pacedRate === undefined);
  const table = {
    columns: [
      'target',
      'series',
      'pubs × window',
      'QoS',
      'msg/s median (min–max)',
      '× bare Aedes',
      '× Mosquitto',
      'latency p50 / p99 ms',
      'stored/s (rows verified)',
      'msg per server CPU-s',
      'server CPU (cores)',
      'generator CPU (cores)',
    ],
    rows: maxRows.map((r) => {
      const s = rate(r);
      const aedes = ref('bare Aedes', r);
      const mosq = ref('Mosquitto', r);
      return [
        r.target,
        r.series,
        `${r.publishers} × ${window}`,
        r.qos,
        fmt(s, 0),
        aedes ? ratio(s.median, rate(aedes).median) : '—',
        mosq ? ratio(s.median, rate(mosq).median) : '—',
        `${median(r.results.map((x) => percentile(x.latencies, 50))).toFixed(1)} / ${median(r.results.map((x) => percentile(x.latencies, 99))).toFixed(1)}`,
        r.stored
          ? `${fmt(summarize(r.stored.perSecond), 0)} (${r.stored.verified.every(Boolean) ? 'yes' : 'NO'})`
          : '—',
        Math.round(perCpu(r)).toLocaleString('en-US'),
        median(r.serverCpu).toFixed(2),
        median(r.genCpu).toFixed(2),
      ];
    }),
  };
  const pacedTable = {
    title: 'PUBACK latency at half the maximum rate (paced, open loop)',
    columns: [
      'target',
      'series',
      'max msg/s (100 × 20)',
      'paced at msg/s',
      'acked msg/s median',
      'p50 ms median (min–max)',
      'p95 ms median (min–max)',
      'p99 ms median (min–max)',
      'rows verified',
      'server CPU (cores)',
      'generator CPU (cores)',
    ],
    rows: rows
      .filter((r) => r.pacedRate !== undefined)
      .map((r) => {
        const max = maxRows.find((m) => m.target === r.target && m.series === r.series)!;
        return [
          r.target,
          r.series,
          Math.round(max.results[0]!.perSecond).toLocaleString('en-US'),
          Math.round(r.pacedRate!).toLocaleString('en-US'),
          Math.round(rate(r).median).toLocaleString('en-US'),
          fmt(pct(r, 50), 1),
          fmt(pct(r, 95), 1),
          fmt(pct(r, 99), 1),
          r.stored ? (r.stored.verified.every(Boolean) ? 'yes' : 'NO') : '—',
          median(r.serverCpu).toFixed(2),
          median(r.genCpu).toFixed(2),
        ];
      }),
  };
  const notes = [
    'QoS 1: PUBACKs/s; the PUBACK latency is measured at the maximum rate the window allows (not at half of it).',
    `QoS 0: messages/s confirmed by a PINGREQ after every burst of ${window} (brokers process a client's packets in order).`,
    'Baselines use the smallest series count only (no subscribers: a broker without storage does not care how many topics there are).',
    'dakkio runs with DAKKIO_MQTT_PUBLISH_RATE_PER_KEY=0 and one API key for all publishers; "stored/s" counts rows through GET /api/buckets/:id/stats before and after each run (verified = stored rows equal the PUBACKs for QoS 1).',
    o.questdbPlacement === 'generator'
      ? "Server CPU includes QuestDB's JVM for the QuestDB rows. Servers pinned to core 0, generator to core 1 (taskset); QuestDB's JVM pinned to core 1 with the generator (--questdb-core=generator: a diagnostic of dakkio with a database on a core of its own, not the recorded placement)."
      : "Server CPU includes QuestDB's JVM for the QuestDB rows. Servers pinned to core 0 (QuestDB's JVM too), generator to core 1 (taskset).",
  ];
  if (sustained) {
    for (const r of rows) {
      const t = r.results[0]!.timeline;
      notes.push(
        `${r.target} per-second PUBACKs over ${durationMs / 1000} s (min ${Math.min(...t)}, first 10 s ${sum(t.slice(0, 10))}, last 10 s ${sum(t.slice(-10))}): ${t.join(' ')}`,
      );
    }
  }
  if (halfRate) {
    notes.push(
      'Half-rate: per series count, one run at the maximum rate (100 publishers × 20 in flight, its PUBACK/s is "max"), then the paced runs: a 2 ms ticker sends max/2 PUBLISHes per second round robin over the 100 publishers without waiting for PUBACKs (open loop), latency = PUBLISH written → PUBACK read.',
    );
  }
  if (prefill) {
    notes.push(
      `dakkio sqlite starts every run on a fresh copy of a data dir whose readings table already holds ${prefillRows.toLocaleString('en-US')} readings (${maxSeries} series × 1 metric, 30 days ending 31 days ago, rows generated straight into readings.db in key order by bench/lib/prefill.ts, cached under .cache/); the generator writes newer timestamps, so every stored row is new.`,
    );
  } else if (sustained) notes.push('Sustained run starts on an empty table.');
  const benchName = `bench:mqtt-ingest${sustained ? ' --sustained' : ''}${halfRate ? ' --half-rate' : ''}${prefill ? ` --prefill=${prefillRows}` : ''}`;
  recordResults({
    bench: benchName,
    method: `${halfRate ? `${runs} paced run(s) after one max-rate run` : `${runs} run(s)`} of ${durationMs / 1000} s per row, window ${window} in flight per publisher, payload \`{"values":{"temperature":21.5},"timestamp":<ms>}\` (one reading per message, unique timestamps: ${o.timestamps === 'now' ? 'wall-clock time, strictly rising per topic' : 'per-topic counters from 30 days ago, +1 ms per message'}).`,
    tables: halfRate ? [table, pacedTable] : [table],
    notes,
  });
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
