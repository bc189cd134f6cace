/**
 * Runs a real QuestDB server (the Maven Central jar fetched by scripts/fetch-questdb.sh)
 * for tests: free ports, its own root dir, readiness by polling its HTTP endpoint.
 * stop()/kill()/start() act on the same root and ports so an outage test can take it
 * away mid-ingest and bring it back with its data.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** Keep in step with scripts/fetch-questdb.sh. */
export const QUESTDB_VERSION = '9.3.4';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const questDbJarPath = join(repoRoot, '.cache/questdb', `questdb-${QUESTDB_VERSION}.jar`);

export interface QuestDbServer {
  /** e.g. http://127.0.0.1:43123 — ILP/HTTP writes and /exec */
  httpUrl: string;
  /** postgres://admin:quest@127.0.0.1:PORT/qdb */
  pgUrl: string;
  ilpPort: number;
  rootDir: string;
  /** Milliseconds the last start() took until /ping answered. */
  lastStartMs: number;
  /** Graceful stop (SIGTERM), waits for the process to exit. Idempotent. */
  stop(): Promise<void>;
  /** Abrupt stop (SIGKILL), waits for the process to exit. Idempotent. */
  kill(): Promise<void>;
  /** Starts again on the same root and ports; resolves once ready. No-op while running. */
  start(): Promise<void>;
  /** stop(), then removes the root dir when startQuestDb created it. */
  dispose(): Promise<void>;
}

export interface StartQuestDbOptions {
  /** Data root; a fresh temp dir (removed by dispose()) when omitted. */
  rootDir?: string;
  readyTimeoutMs?: number;
}

/** Makes sure the pinned jar is in .cache/questdb (runs the idempotent fetch script). */
export async function ensureQuestDbJar(): Promise<string> {
  if (!existsSync(questDbJarPath)) {
    await promisify(execFile)('bash', [join(repoRoot, 'scripts/fetch-questdb.sh')], {
      env: { ...process.env, QUESTDB_VERSION },
    });
  }
  if (!existsSync(questDbJarPath)) throw new Error(`QuestDB jar missing at ${questDbJarPath}`);
  return questDbJarPath;
}

async function freePort(): Promise<number> {
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

/**
 * A killed test runner can't stop its JVM, and a forgotten QuestDB holds hundreds of
 * MB on a shared machine: a tiny detached shell SIGKILLs the JVM once this process
 * is gone, and exits on its own as soon as the JVM does.
 */
function startOrphanWatchdog(javaPid: number): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${javaPid} 2>/dev/null; do sleep 1; done; kill -0 ${process.pid} 2>/dev/null || kill -9 ${javaPid} 2>/dev/null; exit 0`;
  const dog = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  dog.on('error', () => {});
  dog.unref();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startQuestDb(options: StartQuestDbOptions = {}): Promise<QuestDbServer> {
  const jar = await ensureQuestDbJar();
  const ownsRoot = options.rootDir === undefined;
  const rootDir = options.rootDir ?? mkdtempSync(join(tmpdir(), 'dakkio-questdb-'));
  mkdirSync(rootDir, { recursive: true });
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const [httpPort, pgPort, ilpPort] = [await freePort(), await freePort(), await freePort()];
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const java = process.env.QUESTDB_JAVA ?? 'java';

  // server.conf keys as QDB_* overrides (dots → underscores, upper case). Everything
  // that would reach the internet or open extra ports is off; memory kept modest
  // because the machine is shared.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    QDB_HTTP_BIND_TO: `127.0.0.1:${httpPort}`,
    QDB_PG_NET_BIND_TO: `127.0.0.1:${pgPort}`,
    QDB_LINE_TCP_NET_BIND_TO: `127.0.0.1:${ilpPort}`,
    QDB_HTTP_MIN_ENABLED: 'false',
    QDB_LINE_UDP_ENABLED: 'false',
    QDB_TELEMETRY_ENABLED: 'false',
    QDB_SHARED_WORKER_COUNT: '2',
    QDB_RAM_USAGE_LIMIT_BYTES: String(1024 * 1024 * 1024),
    // QuestDB's "many small tables" settings (tests create a table per test): smaller
    // O3 buffers and append pages cut memory and disk use per table and column.
    QDB_CAIRO_O3_COLUMN_MEMORY_SIZE: '128K',
    QDB_CAIRO_SYSTEM_WRITER_DATA_APPEND_PAGE_SIZE: '128K',
    QDB_CAIRO_WRITER_DATA_APPEND_PAGE_SIZE: '128K',
    QDB_CAIRO_WRITER_DATA_INDEX_KEY_APPEND_PAGE_SIZE: '128K',
    QDB_CAIRO_WRITER_DATA_INDEX_VALUE_APPEND_PAGE_SIZE: '128K',
  };

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const server: QuestDbServer = {
    httpUrl,
    pgUrl: `postgres://admin:quest@127.0.0.1:${pgPort}/qdb`,
    ilpPort,
    rootDir,
    lastStartMs: 0,
    async start() {
      if (child) return;
      const t0 = Date.now();
      const logFd = openSync(join(rootDir, 'questdb-test.log'), 'a');
      const proc = spawn(java, ['-Xms64m', '-Xmx384m', '-p', jar, '-m', 'io.questdb/io.questdb.ServerMain', '-d', rootDir], {
        env,
        stdio: ['ignore', logFd, logFd],
      });
      closeSync(logFd);
      child = proc;
      if (proc.pid !== undefined) startOrphanWatchdog(proc.pid);
      let exitCode: number | null | undefined;
      exited = new Promise((res) =>
        proc.once('exit', (code) => {
          exitCode = code;
          if (child === proc) child = undefined;
          res();
        }),
      );
      const spawnError = new Promise<Error>((res) => proc.once('error', res));
      let spawnFailed: Error | undefined;
      void spawnError.then((e) => {
        spawnFailed = e;
      });
      while (Date.now() - t0 < readyTimeoutMs) {
        if (spawnFailed) throw new Error(`QuestDB could not be spawned (${java}): ${spawnFailed.message}`);
        if (exitCode !== undefined) {
          throw new Error(`QuestDB exited with code ${exitCode} during start-up; see ${join(rootDir, 'questdb-test.log')}`);
        }
        try {
          const res = await fetch(`${httpUrl}/ping`, { signal: AbortSignal.timeout(1000) });
          await res.body?.cancel();
          if (res.ok) {
            server.lastStartMs = Date.now() - t0;
            return;
          }
        } catch {
          // not listening yet
        }
        await sleep(100);
      }
      await server.kill();
      throw new Error(`QuestDB not ready within ${readyTimeoutMs} ms; see ${join(rootDir, 'questdb-test.log')}`);
    },
    async stop() {
      const proc = child;
      if (!proc) return;
      proc.kill('SIGTERM');
      const done = exited;
      const forced = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await done;
      clearTimeout(forced);
    },
    async kill() {
      const proc = child;
      if (!proc) return;
      proc.kill('SIGKILL');
      await exited;
    },
    dispose: async () => {},
  };

  server.dispose = async () => {
    await server.stop();
    if (ownsRoot) rmSync(rootDir, { recursive: true, force: true });
  };
  try {
    await server.start();
  } catch (e) {
    if (ownsRoot) rmSync(rootDir, { recursive: true, force: true });
    throw e;
  }
  return server;
}
