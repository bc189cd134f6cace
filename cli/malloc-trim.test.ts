import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createMallocTrim } from './malloc-trim.ts';

const MiB = 2 ** 20;
const glibc = Boolean(
  (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime,
);

/**
 * Run in a child node of its own: RSS is per process, and 180 MB of Buffers freed here would
 * change V8's GC timing for the other tests of a shared worker.
 */
const child = `
import { readFileSync } from 'node:fs';
import { createMallocTrim } from ${JSON.stringify(new URL('./malloc-trim.ts', import.meta.url).href)};
const rss = () => Number(/VmRSS:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
const trim = createMallocTrim();
// 60 KB backing stores come from the arena (under glibc's mmap threshold); one in ten survives,
// so free() cannot shrink the arena from its top and the other nine stay resident
let burst = Array.from({ length: 3000 }, () => Buffer.allocUnsafeSlow(60_000).fill(1));
const survivors = burst.filter((_, i) => i % 10 === 0);
burst = null;
gc();
gc();
const before = rss();
trim();
console.log(JSON.stringify({ trim: typeof trim, freed: before - rss(), survivors: survivors.every((b) => b[59_999] === 1) }));
`;

describe('malloc trim', () => {
  // dakkio's platforms run glibc (CI included); elsewhere createMallocTrim says it is off
  it.runIf(glibc)('gives back the free pages that a burst of Buffers left between survivors in malloc’s arena', () => {
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', child], {
      encoding: 'utf8',
    });
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { trim: string; freed: number; survivors: boolean };
    expect(r.trim).toBe('function');
    expect(r.freed).toBeGreaterThan(64 * MiB);
    expect(r.survivors).toBe(true);
  });

  it('is one function per process, and calling it twice is harmless', () => {
    const trim = createMallocTrim();
    expect(createMallocTrim()).toBe(trim);
    trim?.();
    trim?.();
  });
});
