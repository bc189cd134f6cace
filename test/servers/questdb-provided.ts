/**
 * How tests reach the one QuestDB that test/global-setup.ts starts per run.
 * In CI a missing QuestDB fails loudly; on a laptop the tests that need it skip
 * with the reason printed.
 */
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** '' when QuestDB could not be started (see questdbSkipReason). */
    questdbHttpUrl: string;
    questdbPgUrl: string;
    questdbIlpPort: number;
    questdbSkipReason: string;
  }
}

export interface SharedQuestDb {
  httpUrl: string;
  pgUrl: string;
  ilpPort: number;
}

/** The shared server, or undefined (with the reason logged) when tests should skip. Throws in CI. */
export function sharedQuestDb(): SharedQuestDb | undefined {
  const httpUrl = inject('questdbHttpUrl');
  if (httpUrl) return { httpUrl, pgUrl: inject('questdbPgUrl'), ilpPort: inject('questdbIlpPort') };
  const reason = inject('questdbSkipReason') || 'QuestDB was not started by global setup';
  if (process.env.CI === 'true') throw new Error(`QuestDB is required in CI: ${reason}`);
  process.stderr.write(`[questdb] skipping QuestDB tests: ${reason}\n`);
  return undefined;
}
