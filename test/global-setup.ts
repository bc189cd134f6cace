/**
 * Starts the shared servers a run needs once (QuestDB, Mosquitto instances) and
 * publishes their addresses to the tests through `provide`. Each server's helper
 * lives in test/servers/.
 */
import type { TestProject } from 'vitest/node';
import { setupQuestDb } from './servers/questdb-global.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const teardowns: (() => Promise<void>)[] = [];
  teardowns.push(await setupQuestDb(project));
  void project;
  return async () => {
    for (const t of teardowns.reverse()) await t();
  };
}
