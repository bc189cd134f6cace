/**
 * Runs dakkio as a real child process (`bin/dakkio.mjs start`), for what only a
 * separate process can show: exit codes, SIGTERM and SIGKILL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/dakkio.mjs', import.meta.url));

export interface ChildDakkio {
  child: ChildProcess;
  ports: { http: number; mqtt: number; mqttWs: number };
  baseUrl: string;
  output(): string;
  /** sends the signal and waits for the exit; resolves to the exit code (or null when killed) */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function childEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    DAKKIO_HTTP_PORT: '0',
    DAKKIO_MQTT_PORT: '0',
    DAKKIO_MQTT_WS_PORT: '0',
    DAKKIO_HOST: '127.0.0.1',
    DAKKIO_DATA_DIR: dataDir,
    DAKKIO_LOG_LEVEL: 'info',
    ...extra,
  };
}

/** Runs `dakkio <args>` to completion: exit code and everything printed. */
export async function runDakkio(args: string[], env: Record<string, string>, timeoutMs = 60_000) {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

export async function startChildDakkio(env: Record<string, string>, timeoutMs = 60_000): Promise<ChildDakkio> {
  const child = spawn(process.execPath, [BIN, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr!.on('data', (d) => (out += d));
  const ports = await new Promise<ChildDakkio['ports']>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dakkio did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      for (const line of out.split('\n')) {
        if (!line.includes('"listening"')) continue;
        const parsed = JSON.parse(line) as { http: number; mqtt: number; mqttWs: number };
        clearTimeout(timer);
        resolve({ http: parsed.http, mqtt: parsed.mqtt, mqttWs: parsed.mqttWs });
        return;
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dakkio exited with ${code} before listening:\n${out}`));
    });
  });
  const exited = once(child, 'exit') as Promise<[number | null]>;
  return {
    child,
    ports,
    baseUrl: `http://127.0.0.1:${ports.http}`,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = await exited;
      return code;
    },
  };
}
