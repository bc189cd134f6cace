/**
 * How long one API-key lastUsedAt flush holds the event loop (core/auth/api-key-last-used.ts):
 * N keys, each used once, then a flush, 7 rounds; a 1 ms ticker measures the longest gap.
 * Run by hand: `npx tsx bench/last-used-flush.ts [N=2000]` (no baseline: compare commits).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLastUsedRecorder } from '../core/auth/api-key-last-used.ts';
import { createSqliteMetadataDb } from '../core/store/metadata/sqlite-metadata-db.ts';

const N = Number(process.argv[2] ?? 2000);
const dir = mkdtempSync(join(tmpdir(), 'dakkio-last-used-'));
const db = await createSqliteMetadataDb(join(dir, 'dakkio.db'));
await db
  .insertInto('users')
  .values({ id: 'u1', email: 'a@b.c', name: null, password_hash: 'x', created_at: 1, sessions_valid_after: 0 })
  .execute();
const key = (i: number) => ({
  id: `k${i}`,
  owner_id: 'u1',
  name: 'k',
  prefix: 'p',
  secret_hash: `h${i}`,
  previous_secret_hash: null,
  previous_expires_at: null,
  permissions: '["read"]',
  bucket_ids: null,
  rules: null,
  created_at: 1,
  last_used_at: null,
  expires_at: null,
  revoked_at: null,
});
for (let i = 0; i < N; i += 200)
  await db
    .insertInto('api_keys')
    .values(Array.from({ length: Math.min(200, N - i) }, (_, j) => key(i + j)))
    .execute();

const recorder = createLastUsedRecorder({ db, flushMs: 3_600_000 });
for (let round = 1; round <= 7; round++) {
  for (let i = 0; i < N; i++) recorder.record(`k${i}`, 1000 * round + i);
  let last = performance.now();
  let longest = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  const t0 = performance.now();
  await recorder.flush();
  const took = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 5));
  clearInterval(ticker);
  console.log(
    `round ${round}: ${N} keys flushed in ${took.toFixed(1)} ms, longest event-loop gap ${longest.toFixed(1)} ms`,
  );
}
const stored = await db
  .selectFrom('api_keys')
  .select('last_used_at')
  .where('id', '=', `k${N - 1}`)
  .executeTakeFirstOrThrow();
if (stored.last_used_at !== 7000 + N - 1) throw new Error(`lastUsedAt not stored: ${stored.last_used_at}`);
await recorder.close();
await db.destroy();
rmSync(dir, { recursive: true, force: true });
