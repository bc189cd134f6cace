/**
 * Test helper: the real `mosquitto_pub` / `mosquitto_sub` binaries (Debian package
 * mosquitto-clients). Under CI=true a missing binary fails loudly; on a laptop the
 * tests that need it skip with a visible reason.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export const MOSQUITTO_PUB = '/usr/bin/mosquitto_pub';
export const MOSQUITTO_SUB = '/usr/bin/mosquitto_sub';
const STDBUF = '/usr/bin/stdbuf';

/** null when both binaries are there, else why not (and throws under CI). */
export function mosquittoClientsMissing(): string | null {
  const missing = [MOSQUITTO_PUB, MOSQUITTO_SUB].filter((p) => !existsSync(p));
  if (missing.length === 0) return null;
  const reason = `${missing.join(', ')} not found (apt-get install -y mosquitto-clients)`;
  if (process.env.CI === 'true') throw new Error(`CI requires the Mosquitto clients: ${reason}`);
  return reason;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(bin: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    // a hung client must not hang the suite; this bounds the wait, it asserts nothing about speed
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface MosquittoConn {
  port: number;
  host?: string;
  username?: string;
  password?: string;
  clientId?: string;
}

const connArgs = (c: MosquittoConn) => [
  '-h', c.host ?? '127.0.0.1',
  '-p', String(c.port),
  '-V', 'mqttv311',
  ...(c.username !== undefined ? ['-u', c.username] : []),
  ...(c.password !== undefined ? ['-P', c.password] : []),
  ...(c.clientId !== undefined ? ['-i', c.clientId] : []),
];

/** One message with mosquitto_pub; QoS 1 exits only after the PUBACK. */
export function mosquittoPub(c: MosquittoConn, topic: string, message: string, qos: 0 | 1 = 1): Promise<RunResult> {
  return run(MOSQUITTO_PUB, [...connArgs(c), '-t', topic, '-m', message, '-q', String(qos)], 15_000);
}

/**
 * Starts mosquitto_sub and resolves once it has subscribed (it prints nothing
 * before that, so -d's "SUBACK" debug line is the signal); `done` resolves after
 * `count` messages.
 */
export function mosquittoSub(
  c: MosquittoConn,
  topic: string,
  count: number,
): { ready: Promise<void>; done: Promise<RunResult>; kill(): void } {
  const args = [...connArgs(c), '-t', topic, '-C', String(count), '-q', '1', '-d', '-W', '20'];
  // stdout to a pipe is block-buffered, so the SUBACK line would only show at exit; stdbuf makes it line-buffered
  const child = existsSync(STDBUF)
    ? spawn(STDBUF, ['-oL', MOSQUITTO_SUB, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(MOSQUITTO_SUB, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => {};
  let failReady: (err: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString('utf8');
    if (stdout.includes('SUBACK')) markReady();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  const done = new Promise<RunResult>((resolve) => {
    child.on('close', (code) => {
      failReady(new Error(`mosquitto_sub exited (${code}) before subscribing: ${stderr || stdout}`));
      resolve({ code, stdout, stderr });
    });
  });
  return { ready, done, kill: () => child.kill('SIGKILL') };
}

/** Payload lines of mosquitto_sub -d output (debug lines start with "Client "). */
export const messageLines = (stdout: string) =>
  stdout.split('\n').filter((l) => l.length > 0 && !l.startsWith('Client ') && !l.startsWith('Subscribed'));
