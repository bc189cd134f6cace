import { describe, it } from 'vitest';
import { makeQuestDbStore } from '../../test/servers/questdb-fixture.ts';
import { sharedQuestDb } from '../../test/servers/questdb-provided.ts';
import { describeReadingStoreContract } from './reading-store.contract.ts';

const qdb = sharedQuestDb();

if (qdb) {
  // Each test gets a fresh table on the shared server, so tests never see each other's rows.
  describeReadingStoreContract('questdb', async () => {
    const f = await makeQuestDbStore(qdb);
    // a fresh table has no unkeyed rows: reads of named series go through the series index
    if (!(await f.store.seriesKeysReady())) throw new Error('series index not in use on a fresh table');
    return f;
  });
  // the path of a table whose old rows are still being keyed, and of open selectors
  describeReadingStoreContract('questdb, series index off', () => makeQuestDbStore(qdb, { seriesIndex: false }));
} else {
  describe.skip('ReadingStore contract: questdb (QuestDB not available)', () => {
    it('needs a QuestDB server', () => {});
  });
}
