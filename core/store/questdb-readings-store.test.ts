import { describe, it } from 'vitest';
import { makeQuestDbStore } from '../../test/servers/questdb-fixture.ts';
import { sharedQuestDb } from '../../test/servers/questdb-provided.ts';
import { describeReadingStoreContract } from './reading-store.contract.ts';

const qdb = sharedQuestDb();

if (qdb) {
  // Each test gets a fresh table on the shared server, so tests never see each other's rows.
  describeReadingStoreContract('questdb', () => makeQuestDbStore(qdb));
} else {
  describe.skip('ReadingStore contract: questdb (QuestDB not available)', () => {
    it('needs a QuestDB server', () => {});
  });
}
