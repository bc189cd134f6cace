/**
 * Test support: a real Mosquitto on a free port with a generated config, stopped by close().
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MOSQUITTO_BIN } from './mosquitto-binaries.ts';

export interface MosquittoServer {
  port: number;
  url: string;
  dir: string;
  /** everything Mosquitto logged, for failure messages */
  log(): string;
  /** Stops the broker (SIGTERM, then SIGKILL) and deletes its directory unless keepDir. Idempotent. */
  close(opts?: { keepDir?: boolean }): Promise<void>;
}

export interface MosquittoOptions {
  passwordFile?: string;
  aclFile?: string;
  allowAnonymous?: boolean;
  persistence?: boolean;
  /** extra config lines */
  extra?: string[];
  port?: number;
  /** reuse a directory (persistence across restarts) */
  dir?: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<MosquittoServer> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'dakkio-mosq-'));
  // Mosquitto started as root drops to the "mosquitto" user, which must read these files.
  chmodSync(dir, 0o777);
  const port = opts.port ?? (await freePort());
  const lines = [
    `listener ${port} 127.0.0.1`,
    `allow_anonymous ${opts.allowAnonymous ? 'true' : 'false'}`,
    `persistence ${opts.persistence ? 'true' : 'false'}`,
    `persistence_location ${dir}/`,
    'log_dest stderr',
    'log_type all',
  ];
  const write = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    chmodSync(path, 0o644);
    return path;
  };
  if (opts.passwordFile !== undefined) lines.push(`password_file ${write('passwords', opts.passwordFile)}`);
  if (opts.aclFile !== undefined) lines.push(`acl_file ${write('acl', opts.aclFile)}`);
  lines.push(...(opts.extra ?? []));
  const config = write('mosquitto.conf', `${lines.join('\n')}\n`);

  let output = '';
  const child: ChildProcess = spawn(MOSQUITTO_BIN, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/running/.test(output)) resolve();
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`mosquitto exited with ${code}:\n${output}`)));
    child.once('error', reject);
  });

  let closed: Promise<void> | null = null;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    log: () => output,
    close(closeOpts = {}) {
      closed ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        if (!closeOpts.keepDir && opts.dir === undefined) rmSync(dir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
