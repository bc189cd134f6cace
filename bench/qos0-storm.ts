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
 *     [--release-timeout=180]  dakkio: longest wait for its quiet-time release line once at rest, seconds
 *     [--dakkio-from=DIR]  run dakkio from another checkout (e.g. /work/main) for an A/B
 *   QOS0_DEBUG=1 prints the drain second by second; QOS0_RELEASE_LINES=1 prints dakkio's release lines.
 */
import type { Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { benchArgs } from './lib/args.ts';
import { takeLock } from './lib/bench-lock.ts';
import { alive, breakdownOf, type Rest, SETTLE_MS, waitForRest } from './lib/broker-rest.ts';
import { type DakkioFixture, setupDakkio } from './lib/dakkio-setup.ts';
import { connectRaw, encode, makeTemplate } from './lib/mqtt-load.ts';
import { cpuMeter, pinGenerator, rssBytesOf } from './lib/proc.ts';
import { type ReleaseWatch, watchReleases } from './lib/release-watch.ts';
import { recordQos0Storm, type Row } from './lib/qos0-report.ts';
import { type ServerProcess, startBareAedes, startDakkio, stopAll } from './lib/servers.ts';

const args = benchArgs({
  duration: { type: 'string', default: '60' },
  cycles: { type: 'string', default: '5' },
  publishers: { type: 'string', default: '100' },
  series: { type: 'string', default: '100' },
  targets: { type: 'string', default: 'aedes,dakkio' },
  subscriber: { type: 'string', default: 'slow' },
  'rss-cap-mb': { type: 'string', default: '3072' },
  'max-drain': { type: 'string', default: '300' },
  'release-timeout': { type: 'string', default: '180' },
  // dakkio from another checkout (its own node_modules, e.g. /work/main): an A/B of a change under this bench
  'dakkio-from': { type: 'string', default: '' },
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
const releaseTimeoutMs = Number(args['release-timeout']) * 1000;

async function cycle(
  server: ServerProcess,
  prefix: string,
  f: DakkioFixture | undefined,
  c: number,
  watch?: ReleaseWatch,
) {
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
  const seenAtDisconnect = watch?.count() ?? 0;
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
  const release = watch && { watch, seenAtDisconnect, timeoutMs: releaseTimeoutMs };
  const rest: Rest = crashed
    ? { rss: Number.NaN, seconds: Number.NaN }
    : await waitForRest(server.pid, maxDrainMs, release);
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

const rows: Row[] = [];

// BENCH_LOCK=<file>: the bench takes that lock itself for its start and for each cycle (bench/lib/bench-lock.ts)
const lockPath = process.env.BENCH_LOCK;
const lock = async () => (lockPath ? await takeLock(lockPath) : async () => {});

async function runTarget(name: string, start: () => Promise<ServerProcess>, isDakkio: boolean) {
  let unlock = await lock();
  const server = await start();
  const watch = isDakkio ? watchReleases(server) : undefined;
  const row: Row = {
    target: name,
    startMb: 0,
    peaksMb: [],
    afterMb: [],
    restMb: [],
    restSeconds: [],
    releaseSeconds: [],
    startNote: `${SETTLE_MS / 1000} s after the set-up`,
    memory: [],
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
    const seenBefore = watch?.count() ?? 0;
    if (!watch) await sleep(SETTLE_MS);
    else if (await watch.waitBeyond(seenBefore, releaseTimeoutMs)) row.startNote = '2 s after the release line';
    else {
      row.startNote = `NO release line within ${releaseTimeoutMs / 1000} s of the set-up: read without it`;
      process.stderr.write(`${name}: ${row.startNote}\n`);
    }
    row.startMb = rssBytesOf(server.pid) / MiB;
    const released = watch && watch.count() > seenBefore ? watch.lastMemory() : undefined;
    row.memory.push(`start ${row.startMb.toFixed(0)} MiB: ${breakdownOf(server.pid, released)}`);
    process.stderr.write(`${name} ${row.memory[0]}\n`);
    for (let c = 0; c < cycles; c++) {
      if (c > 0) unlock = await lock();
      const before = f ? await f.countReadings() : 0;
      const r = await cycle(server, prefix, f, c, watch);
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
      row.releaseSeconds.push(r.rest.releaseSeconds ?? Number.NaN);
      row.sent.push(r.sentPerSec);
      row.serverCores.push(r.serverCores);
      row.genCores.push(r.genCores);
      if (f) {
        row.stored!.push(((await f.countReadings()) - before) / r.floodSeconds);
        row.storedInFlood!.push((r.storedByFloodEnd - before) / r.floodSeconds);
      }
      if (r.capHit) row.capHits.push(`cycle ${c + 1} after ${r.floodSeconds.toFixed(0)} s`);
      row.memory.push(`cycle ${c + 1} ${(r.rest.rss / MiB).toFixed(0)} MiB: ${r.rest.breakdown}`);
      process.stderr.write(
        `${name} cycle ${c + 1}/${cycles}: written ${Math.round(r.sentPerSec)}/s, RSS start ${row.startMb.toFixed(0)} peak ${(r.peak / MiB).toFixed(0)} after 5 s ${after.toFixed(0)}, at rest ${(r.rest.rss / MiB).toFixed(0)} MiB = ${(r.rest.rss / MiB / row.startMb).toFixed(2)}x (drain ${r.rest.seconds.toFixed(0)} s${releaseNote(watch, r.rest)})` +
          `${f ? `, stored ${Math.round(row.stored!.at(-1)!)}/s (${Math.round(row.storedInFlood!.at(-1)!)}/s by the flood's end)` : ''}, server ${r.serverCores.toFixed(2)} gen ${r.genCores.toFixed(2)} cores\n  ${row.memory.at(-1)}\n`,
      );
      // the broker waits at rest while others use the machine
      if (c < cycles - 1) await unlock();
    }
  } finally {
    watch?.stop();
    await server.stop();
    await unlock();
  }
}

/** For the cycle's log line: when dakkio's release came, or that it did not. */
function releaseNote(watch: ReleaseWatch | undefined, rest: Rest): string {
  if (!watch) return `, read ${SETTLE_MS / 1000} s after it`;
  const s = rest.releaseSeconds ?? Number.NaN;
  return Number.isNaN(s)
    ? `, NO release line within ${releaseTimeoutMs / 1000} s of rest: read without it`
    : `, release line ${s.toFixed(0)} s after the disconnect`;
}

try {
  const wanted = args.targets.split(',');
  if (wanted.includes('aedes')) await runTarget('bare Aedes', () => startBareAedes(core), false);
  // at debug level dakkio logs its quiet-time release, which the at-rest readings wait for
  const debugLog = {
    env: { DAKKIO_LOG_LEVEL: 'debug' },
    ...(args['dakkio-from'] ? { from: args['dakkio-from'] } : {}),
  };
  const dakkioName = args['dakkio-from'] ? `dakkio sqlite (from ${args['dakkio-from']})` : 'dakkio sqlite';
  if (wanted.includes('dakkio')) await runTarget(dakkioName, () => startDakkio(core, debugLog), true);
} finally {
  await stopAll();
}

recordQos0Storm(rows, {
  cycles,
  durationMs,
  P,
  SERIES,
  slowSubscriber,
  rssCapMb: args['rss-cap-mb'],
  maxDrainMs,
  releaseTimeoutMs,
});
