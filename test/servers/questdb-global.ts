/**
 * The QuestDB part of test/global-setup.ts: one server per test run, its addresses
 * handed to tests with `provide` (read them through test/servers/questdb-provided.ts).
 */
import type { TestProject } from 'vitest/node';
import { startQuestDb } from './questdb.ts';
import './questdb-provided.ts';

export async function setupQuestDb(project: TestProject): Promise<() => Promise<void>> {
  try {
    const server = await startQuestDb();
    process.stderr.write(`[questdb] shared server ready at ${server.httpUrl} in ${server.lastStartMs} ms\n`);
    project.provide('questdbHttpUrl', server.httpUrl);
    project.provide('questdbPgUrl', server.pgUrl);
    project.provide('questdbIlpPort', server.ilpPort);
    project.provide('questdbSkipReason', '');
    return () => server.dispose();
  } catch (e) {
    const reason = `QuestDB could not be started: ${(e as Error).message}`;
    // In CI the suite must run, not skip.
    if (process.env.CI === 'true') throw new Error(reason, { cause: e });
    process.stderr.write(`[questdb] ${reason}; QuestDB tests will skip\n`);
    project.provide('questdbHttpUrl', '');
    project.provide('questdbPgUrl', '');
    project.provide('questdbIlpPort', 0);
    project.provide('questdbSkipReason', reason);
    return async () => {};
  }
}
