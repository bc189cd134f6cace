/**
 * Child process for the SIGKILL durability tests (sqlite-readings-store.test.ts,
 * sqlite-readings-user-ops.test.ts): writes `count` readings in 1,000-point writes,
 * prints "written" once every write() resolved, then waits to be killed. Not library code.
 *
 * Mode `delete-mid-merge`: after the writes, one event-loop turn (the generation freezes and
 * its first slice moves d0-d2 into `readings`), one newer row per source at ts T0 + 20,000
 * plus a rewrite of d6's ts T0 + 6, then d1 (moved) and d5 (pending) are deleted; prints
 * the writer's status and blocks the thread, so the kill lands with the generation half merged.
 *
 * Mode `delete-bucket-purging`: after the writes, 100 rows of bucket b2, a close (all merged
 * into `readings`), a reopen with 1,000-row purge slices, deleteBucket('b1'); prints the
 * store's status and blocks the thread, so the kill lands with b1's rows mostly unpurged.
 */
import { silentLogger } from '../logger.ts';
import { createSqliteReadingStore } from './sqlite-readings-store.ts';

const [path, countArg, mode] = process.argv.slice(2);
const count = Number(countArg);
let store = await createSqliteReadingStore({ path: path!, logger: silentLogger, mergeThresholdRows: 2500 });
const T0 = Date.UTC(2026, 10, 28);
const point = (k: number, ts: number, value: number | string) => ({ bucketId: 'b1', dataSourceId: `d${k % 7}`, metric: 'm', ts, value });
for (let i = 0; i < count; i += 1000) {
  const points = [];
  for (let k = i; k < Math.min(count, i + 1000); k++) points.push(point(k, T0 + k, k));
  await store.write(points);
}
if (mode === 'delete-mid-merge') {
  await new Promise((r) => setImmediate(r));
  await store.write([...Array.from({ length: 7 }, (_, k) => point(k, T0 + 20_000, -1)), point(6, T0 + 6, 'rewritten')]);
  await store.deleteDataSource('b1', 'd1');
  await store.deleteDataSource('b1', 'd5');
  process.stdout.write(`written ${JSON.stringify((await store.health()).detail)}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // no further turn: no slice, no close
}
if (mode === 'delete-bucket-purging') {
  await store.write(Array.from({ length: 100 }, (_, k) => ({ bucketId: 'b2', dataSourceId: 'd0', metric: 'm', ts: T0 + k, value: k })));
  await store.close();
  store = await createSqliteReadingStore({ path: path!, logger: silentLogger, purgeSliceRows: 1000 });
  await store.deleteBucket('b1');
  process.stdout.write(`written ${JSON.stringify((await store.health()).detail)}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // no further turn: no slice, no close
}
process.stdout.write('written\n');
setInterval(() => {}, 60_000);
