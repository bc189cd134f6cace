/**
 * Stability under a QoS 0 flood (issue 7, item 6): P publishers write QoS 0
 * PUBLISHes as fast as TCP lets them, while one subscriber to every data topic never
 * reads its socket (a slow consumer); after D seconds every client is dropped at
 * once. C cycles per target. Reported: crash or not, messages/s written, broker RSS
 * at start, peak during the flood, 5 s after each cycle and once the broker is at rest
 * again (issue target: back within 20% of the start), and for dakkio the stored rows.
 *
 *   npm run bench:qos0-storm -- [--duration=60] [--cycles=5] [--publishers=100] [--targets=aedes,dakkio]
 *     [--max-drain=300]   longest wait for the broker to come to rest after a cycle, seconds
 *   QOS0_DEBUG=1 prints the drain second by second.
 */
import type { Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { DEFAULT_RELEASE_QUIET_MS } from '../cli/quiet-detector.ts';
import { benchArgs } from './lib/args.ts';
import { alive, SETTLE_MS, waitForRest } from './lib/broker-rest.ts';
import { type DakkioFixture, setupDakkio } from './lib/dakkio-setup.ts';
import { connectRaw, encode, makeTemplate } from './lib/mqtt-load.ts';
import { cpuMeter, pinGenerator, rssBytesOf } from './lib/proc.ts';
import { recordResults } from './lib/results.ts';
import { type ServerProcess, startBareAedes, startDakkio, stopAll } from './lib/servers.ts';
import { fmt, summarize } from './lib/stats.ts';

const args = benchArgs({
  duration: { type: 'string', default: '60' },
  cycles: { type: 'string', default: '5' },
  publishers: { type: 'string', default: '100' },
  series: { type: 'string', default: '100' },
  targets: { type: 'string', default: 'aedes,dakkio' },
  subscriber: { type: 'string', default: 'slow' },
  'rss-cap-mb': { type: 'string', default: '3072' },
  'max-drain': { type: 'string', default: '300' },
});
// the machine is shared: a broker that buffers without limit is stopped here, not by the OOM killer
const rssCap = Number(args['rss-cap-mb']) * 2 ** 20;
const slowSubscriber = args.subscriber !== 'none';
const durationMs = Number(args.duration) * 1000;
const cycles = Number(args.cycles);
const P = Number(args.publishers);
const SERIES = Number(args.series);
const core = pinGenerator()?.serverCore;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 2 ** 20;
const maxDrainMs = Number(args['max-drain']) * 1000;

async function cycle(server: ServerProcess, prefix: string, f: DakkioFixture | undefined, c: number) {
  const creds = f ? { username: 'storm', password: f.apiKey } : {};
  const topic = (s: number) => `${prefix}/${f ? f.sourceIds[s % f.sourceIds.length] : `s${s}`}/data`;
  const subs: Socket[] = [];
  if (slowSubscriber) {
    const sub = await connectRaw(server.ports.mqtt!, `slow-sub-${c}`, creds);
    sub.write(
      mqttPacket.generate({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [{ topic: `${prefix}/+/data`, qos: 0 }],
      } as mqttPacket.ISubscribePacket),
    );
    await sleep(200);
    // the slow consumer: never reads again, so whatever is sent to it piles up somewhere
    sub.pause();
    subs.push(sub);
  }
  const pubs: Socket[] = await Promise.all(
    Array.from({ length: P }, (_, p) => connectRaw(server.ports.mqtt!, `storm-${c}-${p}`, creds)),
  );
  let running = true;
  let sent = 0;
  const packetBytes: number[] = [];
  pubs.forEach((socket, p) => {
    const templates = Array.from({ length: Math.max(1, Math.ceil(SERIES / P)) }, (_, k) =>
      makeTemplate(topic((p + k * P) % SERIES), 0, 'temperature'),
    );
    packetBytes[p] = templates[0]!.buf.length;
    let k = 0;
    const pump = () => {
      for (let n = 0; n < 100 && running && !socket.destroyed; n++) {
        sent++;
        if (!socket.write(encode(templates[k++ % templates.length]!, 0))) {
          socket.once('drain', pump);
          return;
        }
      }
      if (running && !socket.destroyed) setImmediate(pump);
    };
    pump();
  });
  let peak = 0;
  let capHit = false;
  let endFlood!: () => void;
  const floodOver = new Promise<void>((r) => {
    endFlood = r;
  });
  const sampler = setInterval(() => {
    if (alive(server.pid)) peak = Math.max(peak, rssBytesOf(server.pid));
    if (peak > rssCap && !capHit) {
      capHit = true;
      endFlood();
    }
  }, 500);
  const meter = cpuMeter([
    { name: 'server', pid: server.pid },
    { name: 'gen', pid: 'self' },
  ]);
  const t0 = performance.now();
  const timer = setTimeout(endFlood, durationMs);
  await floodOver;
  clearTimeout(timer);
  running = false;
  const survivedFlood = alive(server.pid);
  const cpu = survivedFlood ? meter.stop() : undefined;
  const elapsed = (performance.now() - t0) / 1000;
  // destroy() discards what is still queued in a socket's own (userland) write buffer: up to its
  // 16 KiB highWaterMark, ~135 of these PUBLISHes per publisher, which never reach the broker. They
  // are not counted as written (a publisher's packets all have one length; ±1 packet per publisher for
  // the write libuv may have half done).
  pubs.forEach((s, p) => {
    sent -= Math.round(s.writableLength / packetBytes[p]!);
  });
  // every client at once, abruptly: the moment Aedes was seen to crash
  for (const s of [...pubs, ...subs]) s.destroy();
  clearInterval(sampler);
  // one count (one stats scan on the broker) right after the flood: what was stored while it ran
  const disconnectedAt = performance.now();
  const storedByFloodEnd = f && survivedFlood ? await f.countReadings().catch(() => Number.NaN) : Number.NaN;
  await sleep(Math.max(0, 5000 - (performance.now() - disconnectedAt)));
  // a broker that crashed after the disconnect (bare Aedes' stock mqemitter) is reported by the caller
  const crashed = !alive(server.pid);
  const after5s = crashed ? Number.NaN : rssBytesOf(server.pid);
  const rest = crashed ? { rss: Number.NaN, seconds: Number.NaN } : await waitForRest(server.pid, maxDrainMs);
  return {
    storedByFloodEnd,
    after5s,
    rest,
    capHit,
    floodSeconds: elapsed,
    survivedFlood,
    sentPerSec: sent / elapsed,
    peak,
    serverCores: cpu?.server?.cores ?? Number.NaN,
    genCores: cpu?.gen?.cores ?? Number.NaN,
  };
}

interface Row {
  target: string;
  startMb: number;
  peaksMb: number[];
  /** 5 s after the mass disconnect (the broker may still be draining) */
  afterMb: number[];
  /** once the broker is at rest (waitForRest) */
  restMb: number[];
  restSeconds: number[];
  sent: number[];
  stored?: number[];
  /** rows stored by the end of the flood, over its seconds */
  storedInFlood?: number[];
  serverCores: number[];
  genCores: number[];
  crashed: string;
  capHits: string[];
}
const rows: Row[] = [];

async function runTarget(name: string, start: () => Promise<ServerProcess>, isDakkio: boolean) {
  const server = await start();
  const row: Row = {
    target: name,
    startMb: 0,
    peaksMb: [],
    afterMb: [],
    restMb: [],
    restSeconds: [],
    sent: [],
    serverCores: [],
    genCores: [],
    crashed: 'no',
    capHits: [],
  };
  if (isDakkio) {
    row.stored = [];
    row.storedInFlood = [];
  }
  rows.push(row);
  try {
    const f = isDakkio ? await setupDakkio(`http://127.0.0.1:${server.ports.http}`, SERIES) : undefined;
    const prefix = f ? `dakkio/${f.bucketId}` : 'dakkio/bench';
    // the start is read at rest too, past the quiet-time release that the set-up's requests arm
    // (with the release after ~1 s of quiet this was 2 s; 20 s since round 6)
    await sleep(SETTLE_MS);
    row.startMb = rssBytesOf(server.pid) / MiB;
    for (let c = 0; c < cycles; c++) {
      const before = f ? await f.countReadings() : 0;
      const r = await cycle(server, prefix, f, c);
      if (!alive(server.pid)) {
        row.crashed = `yes, in cycle ${c + 1} ${r.survivedFlood ? 'after the mass disconnect' : 'during the flood'}: ${server
          .output()
          .split('\n')
          .filter((l) => /Error|error/.test(l))
          .slice(-2)
          .join(' / ')
          .slice(0, 300)}`;
        process.stderr.write(`${name}: CRASHED in cycle ${c + 1}\n${server.output().slice(-3000)}\n`);
        return;
      }
      const after = r.after5s / MiB;
      row.peaksMb.push(r.peak / MiB);
      row.afterMb.push(after);
      row.restMb.push(r.rest.rss / MiB);
      row.restSeconds.push(r.rest.seconds);
      row.sent.push(r.sentPerSec);
      row.serverCores.push(r.serverCores);
      row.genCores.push(r.genCores);
      if (f) {
        row.stored!.push(((await f.countReadings()) - before) / r.floodSeconds);
        row.storedInFlood!.push((r.storedByFloodEnd - before) / r.floodSeconds);
      }
      if (r.capHit) row.capHits.push(`cycle ${c + 1} after ${r.floodSeconds.toFixed(0)} s`);
      process.stderr.write(
        `${name} cycle ${c + 1}/${cycles}: written ${Math.round(r.sentPerSec)}/s, RSS start ${row.startMb.toFixed(0)} peak ${(r.peak / MiB).toFixed(0)} after 5 s ${after.toFixed(0)}, at rest ${(r.rest.rss / MiB).toFixed(0)} MiB (${r.rest.seconds.toFixed(0)} s)` +
          `${f ? `, stored ${Math.round(row.stored!.at(-1)!)}/s (${Math.round(row.storedInFlood!.at(-1)!)}/s by the flood's end)` : ''}, server ${r.serverCores.toFixed(2)} gen ${r.genCores.toFixed(2)} cores\n`,
      );
    }
  } finally {
    await server.stop();
  }
}

try {
  const wanted = args.targets.split(',');
  if (wanted.includes('aedes')) await runTarget('bare Aedes', () => startBareAedes(core), false);
  if (wanted.includes('dakkio')) await runTarget('dakkio sqlite', () => startDakkio(core), true);
} finally {
  await stopAll();
}

recordResults({
  bench: 'bench:qos0-storm',
  method: `${cycles} cycles per target of ${durationMs / 1000} s: ${P} publishers writing QoS 0 PUBLISHes as fast as TCP back-pressure allows (${SERIES} series), ${slowSubscriber ? 'one subscriber to `<prefix>/+/data` that never reads' : 'no subscriber'}; then every client dropped at once (socket destroy) and 5 s of quiet. RSS from /proc/<pid>/status, sampled every 500 ms.`,
  tables: [
    {
      columns: [
        'target',
        'crashed',
        'RSS cap hit (flood stopped early)',
        'written msg/s',
        'stored rows/s (by the end of the drain)',
        'stored rows/s by the end of the flood',
        'RSS start MiB',
        'RSS peak MiB (max)',
        'RSS 5 s after the last cycle MiB (× start)',
        'RSS at rest after the last cycle MiB (× start)',
        'drain after the disconnect s (max)',
        'server CPU (cores)',
        'generator CPU (cores)',
      ],
      rows: rows.map((r) => [
        r.target,
        r.crashed,
        r.capHits.length ? r.capHits.join(', ') : 'no',
        r.sent.length ? fmt(summarize(r.sent), 0) : 'n/a',
        r.stored?.length ? fmt(summarize(r.stored), 0) : '—',
        r.storedInFlood?.length ? fmt(summarize(r.storedInFlood), 0) : '—',
        r.startMb.toFixed(0),
        r.peaksMb.length ? Math.max(...r.peaksMb).toFixed(0) : 'n/a',
        r.afterMb.length ? `${r.afterMb.at(-1)!.toFixed(0)} (${(r.afterMb.at(-1)! / r.startMb).toFixed(2)}×)` : 'n/a',
        r.restMb.length ? `${r.restMb.at(-1)!.toFixed(0)} (${(r.restMb.at(-1)! / r.startMb).toFixed(2)}×)` : 'n/a',
        r.restSeconds.length ? Math.max(...r.restSeconds).toFixed(0) : 'n/a',
        r.serverCores.length ? fmt(summarize(r.serverCores), 2) : 'n/a',
        r.genCores.length ? fmt(summarize(r.genCores), 2) : 'n/a',
      ]),
    },
  ],
  notes: [
    "\"Written\" counts what the generator's sockets handed to the kernel (QoS 0 has no acknowledgement; what was still queued in a socket's own write buffer at the disconnect, ~135 PUBLISHes per publisher, is discarded by the socket's destroy() and not counted, ±1 per publisher); for dakkio the stored rows say what was processed: by the end of the drain, and by the end of the flood (one count right after the disconnect), both over the flood's seconds. What the broker has not stored by the flood's end waits in TCP buffers (the publishers' send buffers and its own receive buffers, which Linux autotunes up to net.ipv4.tcp_rmem's maximum) and is stored during the drain.",
    `RSS cap: a flood is cut short when the broker's RSS passes ${args['rss-cap-mb']} MiB (a backlog that is not bounded), to spare the shared machine.`,
    'Server pinned to core 0, generator to core 1 (taskset).',
    `"5 s after": RSS 5 s after the mass disconnect. TCP still delivers what the publishers' send buffers and the broker's receive buffers held when they closed (a graceful FIN follows the data), so the broker may still be processing it: that reading is RSS under load. "At rest": RSS once the broker used under 0.02 cores over a whole second with its main thread never seen runnable or in disk I/O (no request is sent to the broker while it drains), waiting at most ${maxDrainMs / 1000} s more after the 5 s reading, then read ${SETTLE_MS / 1000} s later (after dakkio's quiet-time heap release, which waits ${DEFAULT_RELEASE_QUIET_MS / 1000} s of quiet); "drain" is how long it took to reach that first quiet second, counted from the disconnect. "Start" is read ${SETTLE_MS / 1000} s after the set-up's last request, past the same release.`,
  ],
});
