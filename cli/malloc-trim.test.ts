import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createMallocTrim } from './malloc-trim.ts';

const MiB = 2 ** 20;
const rssBytes = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
const glibc = Boolean((process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);

describe('malloc trim', () => {
  // dakkio's platforms run glibc (CI included); elsewhere createMallocTrim says it is off
  it.runIf(glibc)('gives back the free pages that a burst of Buffers left between survivors in malloc’s arena', () => {
    setFlagsFromString('--expose-gc');
    const gc: () => void = runInNewContext('gc');
    const trim = createMallocTrim();
    expect(trim).toBeTypeOf('function');
    // 60 KB backing stores come from the arena (under glibc's mmap threshold); one in ten survives,
    // so free() cannot shrink the arena from its top and the other nine stay resident
    let burst: Buffer[] | null = Array.from({ length: 3000 }, () => Buffer.allocUnsafeSlow(60_000).fill(1));
    const survivors = burst.filter((_, i) => i % 10 === 0);
    burst = null;
    gc();
    gc();
    const before = rssBytes();
    trim!();
    expect(before - rssBytes()).toBeGreaterThan(64 * MiB);
    expect(survivors.every((b) => b[59_999] === 1)).toBe(true);
  });

  it('is one function per process, and calling it twice is harmless', () => {
    const trim = createMallocTrim();
    expect(createMallocTrim()).toBe(trim);
    trim?.();
    trim?.();
  });
});
