import { getHeapSpaceStatistics } from 'node:v8';

const MiB = 2 ** 20;
const round = (bytes: number) => Math.round((bytes / MiB) * 10) / 10;

/**
 * Where the process's memory is, in MiB, for the quiet-time release's log line
 * (cli/young-generation-release.ts): RSS, V8's committed heap by space, and what V8 counts outside
 * it (Buffers' and ArrayBuffers' backing stores). Why: an RSS that stays high after a release
 * (bench:qos0-storm's at-rest readings) has to be split into heap and native memory to be worked
 * on; the rest of RSS (RSS less the heap and external) is native memory V8 does not see: malloc's
 * arenas (SQLite's caches, socket buffers) and code.
 */
export function memoryAtRest(): Record<string, number> {
  const m = process.memoryUsage();
  const spaces: Record<string, number> = {};
  let heap = 0;
  for (const s of getHeapSpaceStatistics()) {
    heap += s.physical_space_size;
    const name = s.space_name.replace(/_space$/, '');
    if (['new', 'old', 'large_object', 'code'].includes(name)) spaces[`${name}SpaceMiB`] = round(s.physical_space_size);
  }
  return {
    rssMiB: round(m.rss),
    heapCommittedMiB: round(heap),
    ...spaces,
    externalMiB: round(m.external),
    arrayBuffersMiB: round(m.arrayBuffers),
    nativeRestMiB: round(m.rss - heap - m.external),
  };
}
