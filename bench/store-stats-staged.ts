/**
 * A SQLite store's bucket stats while a flood's tail is still staged (not merged): the call's time
 * and what the stats worker's heap holds after it (core/store/sqlite-stats-reader.ts). The QoS 0
 * storm bench asks for stats right after its flood, as a dashboard would.
 * Run by hand, once per checkout to compare (the store is imported from ROOT, default this one):
 * `npx tsx bench/store-stats-staged.ts [ROOT] [--staged=400000]`; 5 calls, median (min–max).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const root = resolve(args.find((a) => !a.startsWith('--')) ?? '.');
const staged = Number(args.find((a) => a.startsWith('--staged='))?.split('=')[1] ?? 400_000);
const { createSqliteReadingStore } = await import(`${root}/core/store/sqlite-readings-store.ts`);
const { silentLogger } = await import(`${root}/core/logger.ts`);

const dir = mkdtempSync(join(tmpdir(), 'dakkio-stats-staged-'));
const store = await createSqliteReadingStore({
  path: join(dir, 'readings.db'),
  logger: silentLogger,
  mergeThresholdRows: Number.MAX_SAFE_INTEGER,
  mergeDelayMs: 3_600_000,
});
const T0 = Date.UTC(2026, 10, 1);
for (let k = 0; k < staged; k += 50_000) {
  const n = Math.min(50_000, staged - k);
  await store.write(
    Array.from({ length: n }, (_, j) => ({
      bucketId: 'b',
      dataSourceId: `d${(k + j) % 100}`,
      metric: 'm',
      ts: T0 + (k + j) * 10,
      value: j,
    })),
  );
}
const ms: number[] = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  await store.stats('b');
  ms.push(performance.now() - t);
}
ms.sort((a, b) => a - b);
const heap = store.workerHeaps ? (await store.workerHeaps(2000)).statsReader : undefined;
console.log(
  `${root}: ${staged} staged rows, stats ${ms[2]!.toFixed(0)} ms (${ms[0]!.toFixed(0)}–${ms[4]!.toFixed(0)}), ` +
    `stats worker heap after: ${heap ? `${heap.heapMiB} MiB (old ${heap.oldMiB}, large ${heap.largeMiB})` : 'n/a'}`,
);
await store.close();
rmSync(dir, { recursive: true, force: true });
