/**
 * Resident memory of a process by kind of anonymous mapping (/proc/<pid>/smaps), for bench:qos0-storm's
 * memory note: where the native memory that RSS at rest holds beyond the V8 heap lives (bench/RESULTS.md,
 * "QoS 0 storm, 60 s cycles": the bad cycles' excess sat in 256 KiB-aligned mappings, V8's pages).
 *
 * Classes, by the mapping's shape (a heuristic: adjacent anonymous mappings with the same permissions merge
 * into one, so sizes are multiples, not exact):
 * - `[heap]`: glibc's main arena;
 * - thread arenas: glibc's per-thread heaps, reserved as 64 MiB-aligned 64 MiB regions (HEAP_MAX_SIZE);
 * - V8 pages: other read-write anonymous mappings whose start and size are multiples of 256 KiB (V8's page
 *   size; the young generation's, old space's and large objects' memory, and pages V8 keeps pooled);
 * - other anonymous: thread stacks, Buffers' backing stores (malloc'd above the mmap threshold), the rest.
 */
import { readFileSync } from 'node:fs';

const KiB = 1024;
const V8_PAGE = 256 * KiB;
const ARENA = 64 * KiB * KiB;

export function smapsClasses(pid: number): string {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return 'no smaps';
  }
  const kib = { heap: 0, arenas: 0, v8: 0, other: 0 };
  let v8Mappings = 0;
  let kind: keyof typeof kib | null = null;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      const start = Number.parseInt(head[1]!, 16);
      const size = Number.parseInt(head[2]!, 16) - start;
      const [perms, inode, name] = [head[3]!, head[4]!, head[5]!];
      if (name === '[heap]') kind = 'heap';
      else if (inode !== '0' || name !== '')
        kind = null; // files, [stack], [vdso]…
      else if (start % ARENA === 0 && size <= ARENA) kind = 'arenas';
      else if (perms.startsWith('rw') && start % V8_PAGE === 0 && size % V8_PAGE === 0) kind = 'v8';
      else kind = 'other';
      if (kind === 'v8') v8Mappings++;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && kind) kib[kind] += Number(rss[1]);
  }
  const mib = (k: number) => (k / KiB).toFixed(0);
  return `V8-page mappings ${mib(kib.v8)} (${v8Mappings}), thread arenas ${mib(kib.arenas)}, [heap] ${mib(kib.heap)}, other anon ${mib(kib.other)} MiB`;
}
