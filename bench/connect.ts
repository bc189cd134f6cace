/**
 * Warm authenticated connect storm: CONNECT→CONNACK per second for N clients,
 * each with its own credential (dakkio: an API key; Mosquitto: a password-file
 * user), each timed storm right after an untimed pass so dakkio's key cache is warm. Bare Aedes (no auth)
 * is measured too, as the broker's own ceiling. Broker CPU per connect from /proc; broker CPU per
 * disconnect over the mass DISCONNECT that follows each timed storm (the connect-publish-disconnect
 * pattern of battery sensors pays one per reading).
 *
 *   npm run bench:connect -- [--clients=2000] [--runs=3] [--concurrency=50] [--compare=DIR] [--cold-keys]
 *
 * --cold-keys: every timed storm of a dakkio target connects with API keys its cache has never seen
 * (its untimed pass uses another set, so the code is as warm as without it): the reconnect of a fleet
 * whose keys were last checked minutes ago (a network blip, a load balancer failover), where every
 * CONNECT's key lookup goes to the store. Mosquitto and bare Aedes are unaffected (no such cache).
 *
 * --compare=DIR: also runs bare Aedes and dakkio from another checkout (with its own
 * node_modules, e.g. the main branch), as extra targets in the same alternation: a
 * same-run A/B of a change.
 */
import type { Socket } from 'node:net';
import { benchArgs } from './lib/args.ts';
import { createKeys, setupDakkio } from './lib/dakkio-setup.ts';
import { connectRaw, disconnectRaw } from './lib/mqtt-load.ts';
import { cpuMeter, pinGenerator, threadCpuSecondsOf } from './lib/proc.ts';
import { recordResults } from './lib/results.ts';
import {
  type ServerProcess,
  mosquittoVersion,
  startBareAedes,
  startDakkio,
  startMosquitto,
  stopAll,
} from './lib/servers.ts';
import { fmt, median, percentile, ratio, summarize } from './lib/stats.ts';

const args = benchArgs({
  clients: { type: 'string', default: '2000' },
  runs: { type: 'string', default: '3' },
  concurrency: { type: 'string', default: '50' },
  compare: { type: 'string', default: '' },
  'cold-keys': { type: 'boolean', default: false },
});
const coldKeys = args['cold-keys'];
const N = Number(args.clients);
const runs = Number(args.runs);
const concurrency = Number(args.concurrency);
const core = pinGenerator()?.serverCore;

type Creds = (i: number) => { username?: string; password?: string };

/** Connects all N clients, at most `concurrency` CONNECTs pending at once. */
async function storm(port: number, creds: Creds, tag: string) {
  const sockets: Socket[] = [];
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < N) {
        const i = next++;
        const t = performance.now();
        try {
          sockets.push(await connectRaw(port, `c-${tag}-${i}`, creds(i)));
          latencies.push(performance.now() - t);
        } catch {
          failures++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  return { sockets, latencies, elapsed, failures };
}

interface Target {
  name: string;
  server: ServerProcess;
  creds: Creds;
  /** the timed storm's credentials, when they differ from the untimed pass's (--cold-keys) */
  timedCreds?: (run: number) => Creds;
  rates: number[];
  cpuPerConnectMs: number[];
  cpuPerDisconnectMs: number[];
  p50: number[];
  p99: number[];
  genCpu: number[];
  serverCores: number[];
  failures: number;
}

/** Connects and disconnects every client once, untimed. */
async function warmUp(t: Target, tag: string) {
  const warm = await storm(t.server.ports.mqtt!, t.creds, tag);
  await Promise.all(warm.sockets.map(disconnectRaw));
  if (warm.failures) process.stderr.write(`${t.name}: ${warm.failures} warm-up connects failed\n`);
  await new Promise((res) => setTimeout(res, 1000));
}

async function measureOnce(t: Target, r: number) {
  // dakkio's key cache keeps an entry 30 s from its lookup (core/auth/api-key-service.ts), and a
  // round of storms over three targets can take longer than that on a loaded machine: every
  // timed storm follows its own untimed pass (every target alike) so "warm" stays true
  await warmUp(t, `w${r}`);
  const meter = cpuMeter([
    { name: 'server', pid: t.server.pid },
    { name: 'gen', pid: 'self' },
  ]);
  const s = await storm(t.server.ports.mqtt!, t.timedCreds?.(r) ?? t.creds, `r${r}`);
  const cpu = meter.stop();
  const ok = s.sockets.length;
  const cpuMs = (cpu.server!.cpuSeconds * 1000) / Math.max(1, ok);
  t.rates.push(ok / s.elapsed);
  t.cpuPerConnectMs.push(cpuMs);
  t.p50.push(percentile(s.latencies, 50));
  t.p99.push(percentile(s.latencies, 99));
  t.genCpu.push(cpu.gen!.cores);
  t.serverCores.push(cpu.server!.cores);
  t.failures += s.failures;
  process.stderr.write(
    `${t.name} run ${r + 1}/${runs}: ${Math.round(ok / s.elapsed)} connects/s, ${ok}/${N} ok, ` +
      `server CPU ${cpuMs.toFixed(3)} ms/connect (${cpu.server!.cores.toFixed(2)} cores), gen ${cpu.gen!.cores.toFixed(2)} cores, ` +
      `CONNACK p50/p99 ${percentile(s.latencies, 50).toFixed(1)}/${percentile(s.latencies, 99).toFixed(1)} ms\n`,
  );
  const disconnectMs = await massDisconnect(t, s.sockets);
  process.stderr.write(`${t.name} run ${r + 1}/${runs}: server CPU ${disconnectMs.toFixed(4)} ms/disconnect\n`);
}

/** After a disconnect storm's last 'close': the broker's last teardown work (a close callback, a tick) */
const DISCONNECT_SETTLE_MS = 200;

/**
 * Sends every client's DISCONNECT at once and returns the broker's CPU per client from the first
 * DISCONNECT until every socket has been closed by the broker plus DISCONNECT_SETTLE_MS (the
 * scheduler's ns count: the window is a few hundred ms), then waits out the rest of the second
 * the bench always left the broker to tear the sessions down before the next storm.
 */
async function massDisconnect(t: Target, sockets: Socket[]) {
  const t0 = performance.now();
  const cpu0 = threadCpuSecondsOf(t.server.pid);
  await Promise.all(sockets.map(disconnectRaw));
  await new Promise((res) => setTimeout(res, DISCONNECT_SETTLE_MS));
  const ms = ((threadCpuSecondsOf(t.server.pid) - cpu0) * 1000) / Math.max(1, sockets.length);
  t.cpuPerDisconnectMs.push(ms);
  await new Promise((res) => setTimeout(res, Math.max(0, 1000 - (performance.now() - t0))));
  return ms;
}

const users = Array.from({ length: N }, (_, i) => ({ username: `dev${i}`, password: `pw-${i}-${'x'.repeat(20)}` }));
const targets: Target[] = [];
const target = (name: string, server: ServerProcess, creds: Creds, timedCreds?: (run: number) => Creds): Target => ({
  name,
  server,
  creds,
  timedCreds,
  rates: [],
  cpuPerConnectMs: [],
  cpuPerDisconnectMs: [],
  p50: [],
  p99: [],
  genCpu: [],
  serverCores: [],
  failures: 0,
});
// --cold-keys: N keys for the untimed passes, then N more for each timed storm
const keyCount = coldKeys ? N * (runs + 1) : N;
/** A dakkio target; with --cold-keys its timed storm r uses keys (r + 1) * N … (r + 2) * N - 1, never used before. */
function dakkioTarget(suffix: string, server: ServerProcess, keys: string[]): Target {
  const creds = (offset: number) => (i: number) => ({ username: `dev${i}`, password: keys[offset + i]! });
  const name = `dakkio (API keys, ${coldKeys ? 'cold key cache' : 'warm'})${suffix}`;
  return target(name, server, creds(0), coldKeys ? (r) => creds((r + 1) * N) : undefined);
}
try {
  // all three stay up (idle) and the runs alternate between them, so a burst of load
  // from elsewhere on this shared machine hits every target alike
  targets.push(target('bare Aedes (no auth)', await startBareAedes(core), () => ({})));
  targets.push(
    target(`Mosquitto ${mosquittoVersion()} (password file)`, await startMosquitto(core, users), (i) => users[i]!),
  );
  const d = await startDakkio(core);
  const f = await setupDakkio(`http://127.0.0.1:${d.ports.http}`, 1);
  targets.push(dakkioTarget('', d, await createKeys(f, keyCount)));
  if (args.compare) {
    const from = args.compare;
    targets.push(target(`bare Aedes (no auth) [${from}]`, await startBareAedes(core, from), () => ({})));
    const b = await startDakkio(core, { from });
    const keysB = await createKeys(await setupDakkio(`http://127.0.0.1:${b.ports.http}`, 1), keyCount);
    targets.push(dakkioTarget(` [${from}]`, b, keysB));
  }
  for (let r = 0; r < runs; r++) for (const t of targets) await measureOnce(t, r);
} finally {
  await stopAll();
}
const rows = targets;

const mosq = rows.find((r) => r.name.startsWith('Mosquitto'));
const aedes = rows.find((r) => r.name === 'bare Aedes (no auth)');
recordResults({
  bench: 'bench:connect',
  method: `${N} clients, each with its own credential, at most ${concurrency} CONNECTs pending; ${runs} timed storms per target${args.compare ? ` (targets marked [${args.compare}] run from that checkout)` : ''}, each right after an untimed pass of the same clients (dakkio's key cache holds an entry 30 s)${coldKeys ? `; --cold-keys: each of dakkio's timed storms uses ${N} API keys its cache has never seen (its untimed pass uses another set), so every CONNECT looks its key up in the store` : ''}, alternating between targets (all ${N} connected, then all disconnected). At most ${concurrency} pending: more overflowed Mosquitto's listen backlog (1 s SYN retransmits). Raw TCP clients (MQTT 3.1.1, clean session).`,
  tables: [
    {
      columns: [
        'target',
        'connects/s median (min–max)',
        '× Mosquitto',
        '× bare Aedes',
        'CONNACK latency p50 / p99 ms',
        'broker CPU ms per connect',
        'broker CPU (cores)',
        'generator CPU (cores)',
        'failed connects',
        'broker CPU ms per disconnect',
      ],
      rows: rows.map((r) => [
        r.name,
        fmt(summarize(r.rates), 0),
        mosq ? ratio(median(r.rates), median(mosq.rates)) : '—',
        aedes ? ratio(median(r.rates), median(aedes.rates)) : '—',
        `${median(r.p50).toFixed(1)} / ${median(r.p99).toFixed(1)}`,
        fmt(summarize(r.cpuPerConnectMs), 3),
        median(r.serverCores).toFixed(2),
        median(r.genCpu).toFixed(2),
        r.failures,
        fmt(summarize(r.cpuPerDisconnectMs), 4),
      ]),
    },
  ],
  notes: [
    'dakkio runs with DAKKIO_MQTT_CONNECT_RATE_PER_IP=0 (every client comes from 127.0.0.1).',
    "Mosquitto's password file is hashed by mosquitto_passwd -U (its default PBKDF2-SHA512).",
    `Broker CPU per disconnect: over each timed storm's mass DISCONNECT (every client's DISCONNECT written at once, then its FIN), from the first DISCONNECT until the broker had closed every socket plus ${DISCONNECT_SETTLE_MS} ms, from the broker's threads' /proc/<pid>/task/*/schedstat (ns; the connect column counts /proc/<pid>/stat's 10 ms ticks over a longer storm), divided by the clients.`,
    'Servers pinned to core 0, generator to core 1 (taskset).',
    'bare Aedes is Aedes as installed by npm install: 1.2.0 with patches/ applied (aedes: no stream.pipeline or async iterator per CONNECT, no premature-close error per clean DISCONNECT; mqtt-packet: no Duplex stream per parser; aedes-persistence: no second Readable around the outgoing queue).',
  ],
});
