/**
 * The servers under test, each in its own process (pinned to the server core when
 * there is one): dakkio (bin/dakkio.mjs), bare Aedes, bare Hono, Mosquitto.
 * Every handle's stop() is idempotent and waits for the exit.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinnedCommand } from './proc.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const live = new Set<ServerProcess>();

export interface ServerProcess {
  name: string;
  pid: number;
  ports: Record<string, number>;
  output(): string;
  /** Calls `listener` with each chunk of the server's output (stdout and stderr) from now on; returns its removal. */
  onOutput(listener: (chunk: string) => void): () => void;
  stop(): Promise<void>;
}

/** Stops every server still running (for the exit and signal paths). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((s) => s.stop()));
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void stopAll().finally(() => process.exit(130));
  });
}

function handle(
  name: string,
  child: ChildProcess,
  ports: Record<string, number>,
  out: () => string,
  cleanup?: () => void,
) {
  const exited = child.exitCode !== null ? Promise.resolve() : once(child, 'exit').then(() => undefined);
  // output() keeps only the tail; a listener sees every chunk (dakkio's log lines, bench/lib/release-watch.ts)
  const listeners = new Set<(chunk: string) => void>();
  const tell = (d: Buffer | string) => {
    for (const l of listeners) l(String(d));
  };
  child.stdout?.on('data', tell);
  child.stderr?.on('data', tell);
  const server: ServerProcess = {
    name,
    pid: child.pid!,
    ports,
    output: out,
    onOutput(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      live.delete(server);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      cleanup?.();
    },
  };
  live.add(server);
  return server;
}

/** Spawns a server that prints a JSON line with "listening" and its ports. */
async function spawnListening(
  name: string,
  cmd: string,
  args: string[],
  env: Record<string, string>,
  core: number | undefined,
  cleanup?: () => void,
  cwd = root,
): Promise<ServerProcess> {
  const [c, a] = pinnedCommand(cmd, args, core);
  const child = spawn(c, a, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd });
  let out = '';
  child.stderr!.on('data', (d) => (out = (out + d).slice(-20_000)));
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${out}`)), 90_000);
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d;
      out = (out + d).slice(-20_000);
      const line = buf.split('\n').find((l) => l.includes('"listening"'));
      if (!line) return;
      buf = '';
      clearTimeout(timer);
      const { msg: _msg, level: _l, time: _t, pid: _p, hostname: _h, ...rest } = JSON.parse(line);
      resolve(
        Object.fromEntries(Object.entries(rest).filter(([, v]) => typeof v === 'number')) as Record<string, number>,
      );
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening:\n${out}`));
    });
  });
  // keep draining its output so a chatty server never blocks on a full pipe
  child.stdout!.removeAllListeners('data');
  child.stdout!.on('data', (d) => (out = (out + d).slice(-20_000)));
  return handle(name, child, ports, () => out, cleanup);
}

const tsxArgs = (file: string, from = root) => ['--import', 'tsx', join(from, file)];

/** `from`: another checkout (its own node_modules) to run instead of this one, for a same-run A/B. */
export function startBareAedes(core?: number, from = root) {
  // BENCH_BARE_AEDES_NODE_FLAGS: extra node flags for bare Aedes only, as BENCH_DAKKIO_NODE_FLAGS for dakkio
  const extra = (process.env.BENCH_BARE_AEDES_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const args = [...extra, ...tsxArgs('bench/servers/bare-aedes.ts', from)];
  return spawnListening('bare-aedes', process.execPath, args, {}, core, undefined, from);
}

export function startBareHono(core?: number) {
  return spawnListening('bare-hono', process.execPath, tsxArgs('bench/servers/bare-hono.ts'), {}, core);
}

export interface DakkioOptions {
  store?: 'sqlite' | 'questdb';
  questdbUrl?: string;
  questdbPgUrl?: string;
  env?: Record<string, string>;
  /** start on this data dir (removed on stop, like the temp one) instead of a fresh one */
  dataDir?: string;
  /** run dakkio from another checkout (its own node_modules), for a same-run A/B */
  from?: string;
}

/**
 * The environment and node flags dakkio's executable runs with (`#!/usr/bin/env -S [NAME=value ...] node <flags>`):
 * the bench measures what users start.
 */
export function shebangCommand(file: string): { env: Record<string, string>; flags: string[] } {
  const first = readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\S*env -S ((?:\S+=\S* )*)node(.*)$/.exec(first);
  if (!m) return { env: {}, flags: [] };
  const env = Object.fromEntries(
    m[1]!
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]),
  );
  return { env, flags: m[2]!.trim().split(/\s+/).filter(Boolean) };
}

export async function startDakkio(
  core: number | undefined,
  o: DakkioOptions = {},
): Promise<ServerProcess & { dataDir: string }> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'dakkio-bench-'));
  const env: Record<string, string> = {
    DAKKIO_HTTP_PORT: '0',
    DAKKIO_MQTT_PORT: '0',
    DAKKIO_MQTT_WS_PORT: '0',
    DAKKIO_HOST: '127.0.0.1',
    DAKKIO_DATA_DIR: dataDir,
    DAKKIO_LOG_LEVEL: 'info',
    DAKKIO_WEBHOOK_ALLOW_PRIVATE: 'true',
    // the per-key publish and per-IP connect limits would measure the limiter, not the broker
    DAKKIO_MQTT_PUBLISH_RATE_PER_KEY: '0',
    DAKKIO_MQTT_CONNECT_RATE_PER_IP: '0',
    DAKKIO_STORE: o.store ?? 'sqlite',
    ...(o.questdbUrl ? { DAKKIO_QUESTDB_URL: o.questdbUrl } : {}),
    ...(o.questdbPgUrl ? { DAKKIO_QUESTDB_PG_URL: o.questdbPgUrl } : {}),
    ...o.env,
  };
  const from = o.from ?? root;
  const bin = join(from, 'bin/dakkio.mjs');
  const shebang = shebangCommand(bin);
  // BENCH_DAKKIO_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"): extra node flags for dakkio only,
  // for profiling under the bench's load (node refuses --cpu-prof in NODE_OPTIONS)
  const extra = (process.env.BENCH_DAKKIO_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const s = await spawnListening(
    'dakkio',
    process.execPath,
    [...shebang.flags, ...extra, bin, 'start'],
    { ...shebang.env, ...env },
    core,
    () => rmSync(dataDir, { recursive: true, force: true }),
    from,
  );
  return Object.assign(s, { dataDir });
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const MOSQUITTO = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';

export function mosquittoVersion(): string {
  try {
    const r = execFileSync(MOSQUITTO, ['-h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return /version ([\d.]+)/.exec(r)?.[1] ?? 'unknown';
  } catch (err) {
    const text = String((err as { stdout?: string }).stdout ?? '');
    return /version ([\d.]+)/.exec(text)?.[1] ?? 'unknown';
  }
}

/**
 * A private Mosquitto on a free port (never the system one on 1883), anonymous or
 * with a password file of the given users (hashed with mosquitto_passwd).
 */
export async function startMosquitto(core: number | undefined, users?: { username: string; password: string }[]) {
  const dir = mkdtempSync(join(tmpdir(), 'mosquitto-bench-'));
  const port = await freePort();
  const conf = [
    `listener ${port} 127.0.0.1`,
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'max_queued_messages 1000',
  ];
  if (users) {
    const pwFile = join(dir, 'passwd');
    writeFileSync(pwFile, `${users.map((u) => `${u.username}:${u.password}`).join('\n')}\n`);
    execFileSync('mosquitto_passwd', ['-U', pwFile]);
    // started as root, mosquitto drops to its own user, which must still read the file
    chmodSync(dir, 0o755);
    chmodSync(pwFile, 0o644);
    conf.push(`password_file ${pwFile}`, 'allow_anonymous false');
  } else {
    conf.push('allow_anonymous true');
  }
  writeFileSync(join(dir, 'mosquitto.conf'), `${conf.join('\n')}\n`);
  const [c, a] = pinnedCommand(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], core);
  const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out = (out + d).slice(-20_000)));
  child.stderr!.on('data', (d) => (out = (out + d).slice(-20_000)));
  const s = handle(
    'mosquitto',
    child,
    { mqtt: port },
    () => out,
    () => rmSync(dir, { recursive: true, force: true }),
  );
  try {
    await waitForPort(port, 10_000);
  } catch (err) {
    await s.stop();
    throw new Error(`mosquitto did not start: ${(err as Error).message}\n${out}`);
  }
  return s;
}
