/**
 * Memory per idle authenticated MQTT connection: RSS of the broker process before
 * and after N clients connect and sit idle, for dakkio (API keys), bare Aedes (no
 * auth) and Mosquitto (password file). The npm script raises `ulimit -n` first.
 *
 *   npm run bench:idle -- [--clients=5000] [--runs=3] [--keys=500]
 */
import type { Socket } from 'node:net';
import { DEFAULT_RELEASE_QUIET_MS } from '../cli/quiet-detector.ts';
import { benchArgs } from './lib/args.ts';
import { createKeys, setupDakkio } from './lib/dakkio-setup.ts';
import { connectRaw, disconnectRaw } from './lib/mqtt-load.ts';
import { pinGenerator, rssBytesOf } from './lib/proc.ts';
import { recordResults } from './lib/results.ts';
import {
  type ServerProcess,
  mosquittoVersion,
  startBareAedes,
  startDakkio,
  startMosquitto,
  stopAll,
} from './lib/servers.ts';
import { fmt, median, ratio, summarize } from './lib/stats.ts';

const args = benchArgs({
  clients: { type: 'string', default: '5000' },
  runs: { type: 'string', default: '3' },
  keys: { type: 'string', default: '500' },
  // past dakkio's quiet-time release (DEFAULT_RELEASE_QUIET_MS of a quiet event loop, then ~1.5 s):
  // both readings are of a broker at rest; the same wait for every target
  settle: { type: 'string', default: String(DEFAULT_RELEASE_QUIET_MS / 1000 + 4) },
});
const N = Number(args.clients);
const runs = Number(args.runs);
const settleMs = Number(args.settle) * 1000;
const core = pinGenerator()?.serverCore;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Creds = (i: number) => { username?: string; password?: string };

async function connectAll(port: number, creds: Creds, tag: string, n: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < n) {
        const i = next++;
        sockets.push(await connectRaw(port, `idle-${tag}-${i}`, creds(i)));
      }
    }),
  );
  return sockets;
}

interface Target {
  name: string;
  /** starts a fresh server and returns the credentials of client i */
  start(): Promise<{ server: ServerProcess; creds: Creds }>;
  perConnKb: number[];
  baseMb: number[];
}

/**
 * A fresh server per run: memory freed by disconnected clients stays in the process
 * (V8 heap, malloc arenas), so a second storm on the same process measures reuse, not cost.
 */
async function measureOnce(t: Target, r: number) {
  const { server, creds } = await t.start();
  try {
    // one untimed pass, so code paths, caches and pools are loaded before the baseline
    await Promise.all((await connectAll(server.ports.mqtt!, creds, 'warm', 200)).map(disconnectRaw));
    await sleep(settleMs);
    const before = rssBytesOf(server.pid);
    const sockets = await connectAll(server.ports.mqtt!, creds, `r${r}`, N);
    await sleep(settleMs);
    const after = rssBytesOf(server.pid);
    const perConn = (after - before) / N / 1024;
    t.perConnKb.push(perConn);
    t.baseMb.push(before / 2 ** 20);
    process.stderr.write(
      `${t.name} run ${r + 1}/${runs}: RSS ${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MiB, ${perConn.toFixed(2)} KiB/connection\n`,
    );
    await Promise.all(sockets.map(disconnectRaw));
  } finally {
    await server.stop();
  }
}

const users = Array.from({ length: N }, (_, i) => ({ username: `dev${i}`, password: `pw-${i}-${'x'.repeat(20)}` }));
const t = (name: string, start: Target['start']): Target => ({ name, start, perConnKb: [], baseMb: [] });
const targets: Target[] = [
  t('bare Aedes (no auth)', async () => ({ server: await startBareAedes(core), creds: () => ({}) })),
  t(`Mosquitto ${mosquittoVersion()} (password file)`, async () => ({
    server: await startMosquitto(core, users),
    creds: (i) => users[i]!,
  })),
  t('dakkio (API keys)', async () => {
    const server = await startDakkio(core);
    const f = await setupDakkio(`http://127.0.0.1:${server.ports.http}`, 1);
    const keys = await createKeys(f, Number(args.keys));
    return { server, creds: (i) => ({ username: `dev${i}`, password: keys[i % keys.length]! }) };
  }),
];
try {
  for (let r = 0; r < runs; r++) for (const x of targets) await measureOnce(x, r);
} finally {
  await stopAll();
}

const aedes = targets.find((x) => x.name.startsWith('bare Aedes'));
const mosq = targets.find((x) => x.name.startsWith('Mosquitto'));
recordResults({
  bench: 'bench:idle',
  method: `${N} idle clients (keepalive 0, clean session, no subscriptions), RSS (/proc/<pid>/status VmRSS) read ${settleMs / 1000} s after the last CONNACK minus RSS before connecting; ${runs} runs per target, each on a freshly started server after a warm-up of 200 connects, alternating between targets; dakkio clients share ${args.keys} API keys round robin.`,
  tables: [
    {
      columns: [
        'target',
        'KiB per idle connection median (min–max)',
        '× bare Aedes',
        '× Mosquitto',
        'RSS before (MiB)',
      ],
      rows: targets.map((x) => [
        x.name,
        fmt(summarize(x.perConnKb), 2),
        aedes ? ratio(median(x.perConnKb), median(aedes.perConnKb)) : '—',
        mosq ? ratio(median(x.perConnKb), median(mosq.perConnKb)) : '—',
        median(x.baseMb).toFixed(1),
      ]),
    },
  ],
  notes: [
    "Node brokers' RSS includes garbage not yet collected; the runs alternate and the median is reported for that reason.",
    'Servers pinned to core 0, generator to core 1 (taskset).',
  ],
});
