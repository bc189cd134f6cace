/**
 * Alert latency: a QoS 1 MQTT publish that crosses a rule's threshold → the signed
 * webhook arriving at a local receiver. Latency runs from the PUBACK (the reading is
 * durable) to the receipt of the webhook, whose signature is verified. Values
 * alternate above and below the threshold, so every publish is an alert event
 * (alert.firing, then alert.resolved), one at a time.
 *
 *   npm run bench:alert-latency -- [--alerts=100] [--runs=3]
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { Webhook } from 'standardwebhooks';
import { benchArgs } from './lib/args.ts';
import { setupDakkio } from './lib/dakkio-setup.ts';
import { connectRaw, disconnectRaw } from './lib/mqtt-load.ts';
import { cpuMeter, pinGenerator } from './lib/proc.ts';
import { recordResults } from './lib/results.ts';
import { startDakkio, stopAll } from './lib/servers.ts';
import { fmt, median, percentile, summarize } from './lib/stats.ts';

const args = benchArgs({
  alerts: { type: 'string', default: '100' },
  runs: { type: 'string', default: '3' },
  timeout: { type: 'string', default: '10' },
});
const alerts = Number(args.alerts);
const runs = Number(args.runs);
const timeoutMs = Number(args.timeout) * 1000;
const core = pinGenerator()?.serverCore;

interface Delivery {
  at: number;
  type: string;
  verified: boolean;
}

// the receiver lives in the generator process; each delivery wakes the publisher waiting for it
let verifier: Webhook | undefined;
let waiting: ((d: Delivery) => void) | undefined;
const early: Delivery[] = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = performance.now();
    const body = Buffer.concat(chunks).toString('utf8');
    let verified = false;
    let type = 'unknown';
    try {
      verifier!.verify(body, req.headers as IncomingHttpHeaders & Record<string, string>);
      verified = true;
      type = String((JSON.parse(body) as { type?: string }).type);
    } catch {
      // counted as unverified below
    }
    res.writeHead(200).end();
    const d = { at, type, verified };
    if (waiting) waiting(d);
    else early.push(d);
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

function nextDelivery(): Promise<Delivery | undefined> {
  const queued = early.shift();
  if (queued) return Promise.resolve(queued);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiting = undefined;
      resolve(undefined);
    }, timeoutMs);
    waiting = (d) => {
      clearTimeout(timer);
      waiting = undefined;
      resolve(d);
    };
  });
}

const perRun: { p50: number; p95: number; max: number; lost: number; unverified: number; cpu: number; gen: number }[] = [];
const all: number[] = [];
try {
  const server = await startDakkio(core);
  const f = await setupDakkio(`http://127.0.0.1:${server.ports.http}`, 1);
  const hook = await f.api<{ webhook: { id: string }; secret: string }>('POST', '/api/webhooks', {
    url: receiverUrl,
    events: ['alert.firing', 'alert.resolved'],
  });
  verifier = new Webhook(hook.secret);
  await f.api('POST', `/api/buckets/${f.bucketId}/alert-rules`, {
    name: 'hot',
    dataSourceId: f.sourceIds[0],
    metric: 'temperature',
    condition: { op: '>', value: 50 },
    webhookIds: [hook.webhook.id],
  });
  const topic = `dakkio/${f.bucketId}/${f.sourceIds[0]}/data`;
  let pubackResolve: (() => void) | undefined;
  const socket = await connectRaw(server.ports.mqtt!, `alert-bench-${process.pid}`, { username: 'probe', password: f.apiKey }, (type) => {
    if (type === 4) pubackResolve?.();
  });
  let id = 0;
  let hot = false;
  const publish = async (value: number) => {
    id = (id % 65535) + 1;
    const acked = new Promise<void>((r) => (pubackResolve = r));
    socket.write(
      mqttPacket.generate({
        cmd: 'publish',
        topic,
        qos: 1,
        messageId: id,
        retain: false,
        dup: false,
        payload: Buffer.from(JSON.stringify({ values: { temperature: value } })),
      } as mqttPacket.IPublishPacket),
    );
    await acked;
    return performance.now();
  };
  for (let r = 0; r < runs; r++) {
    const latencies: number[] = [];
    let lost = 0;
    let unverified = 0;
    const meter = cpuMeter([
      { name: 'server', pid: server.pid },
      { name: 'gen', pid: 'self' },
    ]);
    for (let a = 0; a < alerts; a++) {
      hot = !hot;
      const ackedAt = await publish(hot ? 60 + (a % 10) : 40 - (a % 10));
      const d = await nextDelivery();
      if (!d) {
        lost++;
        continue;
      }
      if (!d.verified) unverified++;
      latencies.push(d.at - ackedAt);
    }
    const cpu = meter.stop();
    const p = {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      max: Math.max(...latencies),
      lost,
      unverified,
      cpu: cpu.server!.cores,
      gen: cpu.gen!.cores,
    };
    all.push(...latencies);
    perRun.push(p);
    process.stderr.write(
      `run ${r + 1}/${runs}: ${latencies.length}/${alerts} webhooks, p50=${p.p50.toFixed(1)}ms p95=${p.p95.toFixed(1)}ms max=${p.max.toFixed(1)}ms lost=${lost} unverified=${unverified}\n`,
    );
  }
  await disconnectRaw(socket);
} finally {
  await stopAll();
  await new Promise((r) => receiver.close(r));
}

recordResults({
  bench: 'bench:alert-latency',
  method: `${runs} runs of ${alerts} alert events (alternately alert.firing and alert.resolved, one rule \`temperature > 50\`, one source), one QoS 1 publish at a time; latency = PUBACK received → signed webhook received by a local HTTP receiver in the generator process (signature verified with standardwebhooks). Webhook URL on 127.0.0.1, so dakkio runs with DAKKIO_WEBHOOK_ALLOW_PRIVATE=true.`,
  tables: [
    {
      columns: ['target', 'p50 ms median (min–max)', 'p95 ms median (min–max)', 'max ms', 'all alerts p50 / p95 ms', 'lost / unverified', 'server CPU (cores)', 'generator CPU (cores)'],
      rows: [
        [
          'dakkio sqlite',
          fmt(summarize(perRun.map((p) => p.p50)), 1),
          fmt(summarize(perRun.map((p) => p.p95)), 1),
          Math.max(...perRun.map((p) => p.max)).toFixed(1),
          `${percentile(all, 50).toFixed(1)} / ${percentile(all, 95).toFixed(1)} (n=${all.length})`,
          `${perRun.reduce((a, p) => a + p.lost, 0)} / ${perRun.reduce((a, p) => a + p.unverified, 0)}`,
          median(perRun.map((p) => p.cpu)).toFixed(2),
          median(perRun.map((p) => p.gen)).toFixed(2),
        ],
      ],
    },
  ],
  notes: ['Target (issue 5): p50 < 50 ms locally. No baseline: the figure is absolute by nature.', 'Server pinned to core 0, generator and receiver to core 1 (taskset).'],
});
