/**
 * Child process for the SIGKILL durability test (sqlite-readings-store.test.ts):
 * writes `count` readings in 1,000-point writes, prints "written" once every
 * write() resolved, then waits to be killed. Not library code.
 */
import { silentLogger } from '../logger.ts';
import { createSqliteReadingStore } from './sqlite-readings-store.ts';

const [path, countArg] = process.argv.slice(2);
const count = Number(countArg);
const store = await createSqliteReadingStore({ path: path!, logger: silentLogger, mergeThresholdRows: 2500 });
const T0 = Date.UTC(2026, 10, 28);
for (let i = 0; i < count; i += 1000) {
  const points = [];
  for (let k = i; k < Math.min(count, i + 1000); k++) {
    points.push({ bucketId: 'b1', dataSourceId: `d${k % 7}`, metric: 'm', ts: T0 + k, value: k });
  }
  await store.write(points);
}
process.stdout.write('written\n');
setInterval(() => {}, 60_000);
