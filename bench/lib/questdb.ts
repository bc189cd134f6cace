/** A QuestDB for the QuestDB-store runs, pinned with dakkio to the server core. */
import { execFileSync } from 'node:child_process';
import { ensureQuestDbJar, type QuestDbServer, startQuestDb } from '../../test/servers/questdb.ts';

export interface BenchQuestDb {
  server: QuestDbServer;
  /** the JVM's pid, for CPU accounting; undefined when it couldn't be found */
  pid: number | undefined;
  dispose(): Promise<void>;
}

export async function startBenchQuestDb(core: number | undefined): Promise<BenchQuestDb> {
  await ensureQuestDbJar();
  const server = await startQuestDb();
  let pid: number | undefined;
  try {
    // the harness doesn't expose the JVM's pid; its private root dir names it uniquely
    pid = Number(execFileSync('pgrep', ['-f', '-n', server.rootDir], { encoding: 'utf8' }).trim()) || undefined;
    if (pid && core !== undefined) execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
  } catch {
    // unpinned and unmeasured: the report shows n/a for its CPU
  }
  return { server, pid, dispose: () => server.dispose() };
}
