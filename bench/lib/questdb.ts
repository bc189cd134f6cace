/** A QuestDB for the QuestDB-store runs, pinned with dakkio to the server core (or, --questdb-core=generator, to the generator's). */
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
    if (pid && core !== undefined)
      execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
  } catch {
    // unpinned and unmeasured: the report shows n/a for its CPU
  }
  return { server, pid, dispose: () => server.dispose() };
}

export type QuestDbPlacement = 'server' | 'generator';

/**
 * Where QuestDB's JVM runs (--questdb-core): on the servers' core with dakkio (the recorded figures), or,
 * as a diagnostic of dakkio with a database on a core of its own (as a QuestDB on another host has), on
 * the generator's core; the benches report the generator's CPU, so a starved generator shows.
 */
export function questdbPlacement(
  value: unknown,
  pin: { generatorCore: number; serverCore: number } | undefined,
): { placement: QuestDbPlacement; core: number | undefined } {
  if (value !== 'server' && value !== 'generator') throw new Error('--questdb-core must be server or generator');
  return { placement: value, core: value === 'generator' ? pin?.generatorCore : pin?.serverCore };
}
