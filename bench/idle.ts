/**
 * Memory per idle authenticated MQTT connection: RSS of the broker process before
 * and after N clients connect and sit idle, for dakkio (API keys), bare Aedes (no
 * auth) and Mosquitto (password file). The npm script raises `ulimit -n` first.
 *
 *   npm run bench:idle -- [--clients=5000] [--runs=3] [--keys=500]
 */
import type { Socket } from 'node:net';
import { benchArgs } from './lib/args.ts';
import { createKeys, setupDakkio } from './lib/dakkio-setup.ts';
import { connectRaw, disconnectRaw } from './lib/mqtt-load.ts';
import { pinGenerator, rssBytesOf } from './lib/proc.ts';
import { recordResults } from './lib/results.ts';
import { type ServerProcess, mosquittoVersion, startBareAedes, startDakkio, startMosquitto, stopAll } from './lib/servers.ts';
import { fmt, median, ratio, summarize } from './lib/stats.ts';

const args = benchArgs({
  clients: { type: 'string', default: '5000' },
  runs: { type: 'string', default: '3' },
  keys: { type: 'string', default: '500' },
  settle: { type: 'string', default: '3' },
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
  server: ServerProcess;
  creds: Creds;
  perConnKb: number[];
  baseMb: number[];
}

async function measureOnce(t: Target, r: number) {
  await sleep(settleMs);
  const before = rssBytesOf(t.server.pid);
  const sockets = await connectAll(t.server.ports.mqtt!, t.creds, `r${r}`, N);
  await sleep(settleMs);
  const after = rssBytesOf(t.server.pid);
  const perConn = (after - before) / N / 1024;
  t.perConnKb.push(perConn);
  t.baseMb.push(before / 2 ** 20);
  process.stderr.write(
    `${t.name} run ${r + 1}/${runs}: RSS ${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MiB, ${perConn.toFixed(2)} KiB/connection\n`,
  );
  await Promise.all(sockets.map(disconnectRaw));
}

const users = Array.from({ length: N }, (_, i) => ({ username: `dev${i}`, password: `pw-${i}-${'x'.repeat(20)}` }));
const targets: Target[] = [];
try {
  const t = (name: string, server: ServerProcess, creds: Creds): Target => ({ name, server, creds, perConnKb: [], baseMb: [] });
  targets.push(t('bare Aedes (no auth)', await startBareAedes(core), () => ({})));
  targets.push(t(`Mosquitto ${mosquittoVersion()} (password file)`, await startMosquitto(core, users), (i) => users[i]!));
  const d = await startDakkio(core);
  const f = await setupDakkio(`http://127.0.0.1:${d.ports.http}`, 1);
  const keys = await createKeys(f, Number(args.keys));
  targets.push(t('dakkio (API keys)', d, (i) => ({ username: `dev${i}`, password: keys[i % keys.length]! })));
  // one untimed pass each, so code paths, caches and pools are loaded before the first baseline
  for (const x of targets) await Promise.all((await connectAll(x.server.ports.mqtt!, x.creds, 'warm', 200)).map(disconnectRaw));
  for (let r = 0; r < runs; r++) for (const x of targets) await measureOnce(x, r);
} finally {
  await stopAll();
}

const aedes = targets.find((x) => x.name.startsWith('bare Aedes'));
const mosq = targets.find((x) => x.name.startsWith('Mosquitto'));
recordResults({
  bench: 'bench:idle',
  method: `${N} idle clients (keepalive 0, clean session, no subscriptions), RSS (/proc/<pid>/status VmRSS) read ${settleMs / 1000} s after the last CONNACK minus RSS before connecting; ${runs} runs per target, alternating between targets; dakkio clients share ${args.keys} API keys round robin.`,
  tables: [
    {
      columns: ['target', 'KiB per idle connection median (min–max)', '× bare Aedes', '× Mosquitto', 'RSS before (MiB)'],
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
    'Node brokers\' RSS includes garbage not yet collected; the runs alternate and the median is reported for that reason.',
    'Servers pinned to core 0, generator to core 1 (taskset).',
  ],
});
