import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.ts';
import { createLastResortGc } from './last-resort-gc.ts';
import { OLD_FRAGMENTED_BYTES, OLD_GROWN_BYTES, oldSpaceFreeBytes } from './old-space-release.ts';
import { createQuietRelease, type ReleaseResult } from './young-generation-release.ts';

const MiB = 2 ** 20;

describe('createLastResortGc (real V8)', () => {
  it('gives back the old-space pages a plain full GC leaves committed around a flood’s survivors', async () => {
    setFlagsFromString('--expose-gc');
    const gc: () => void = runInNewContext('gc');
    const lastResortGc = createLastResortGc();
    expect(lastResortGc).toBeTypeOf('function');
    // a flood's backlog, promoted, of which one object in eight outlives it: every page keeps a few
    let backlog: object[] | null = [];
    for (let i = 0; i < 1.5e6; i++) backlog.push({ a: i, b: [i] });
    const survivors = backlog.filter((_, i) => i % 8 === 0);
    backlog = null;
    gc();
    expect(oldSpaceFreeBytes()).toBeGreaterThan(OLD_FRAGMENTED_BYTES);
    await lastResortGc!();
    expect(oldSpaceFreeBytes()).toBeLessThan(OLD_FRAGMENTED_BYTES);
    expect(survivors).toHaveLength(187_500);
  });
});

describe('quiet-time release with the last-resort GC', () => {
  const busy = 0.9;
  const quiet = 0.01;

  function harness(aborted: boolean) {
    const memory = { newSpace: 128 * MiB, oldGenerationUsed: 30 * MiB };
    const calls: string[] = [];
    const sample = createQuietRelease({
      gc: (o) => calls.push(o?.type ?? 'full'),
      logger: silentLogger,
      gauges: {
        newSpace: () => memory.newSpace,
        oldGenerationUsed: () => memory.oldGenerationUsed,
        oldSpaceFree: () => 0,
        rss: () => 100 * MiB,
      },
      releaseYoung: async (): Promise<ReleaseResult> => {
        calls.push('young');
        return { beforeBytes: memory.newSpace, afterBytes: aborted ? memory.newSpace : 0, gcs: 2, ms: 0, aborted };
      },
      lastResortGc: async () => {
        calls.push('last-resort');
      },
      releaseCaches: () => calls.push('caches'),
      mallocTrim: () => calls.push('trim'),
    });
    memory.oldGenerationUsed += OLD_GROWN_BYTES + 1;
    return { calls, sample };
  }

  it('runs it after the full GC and the young release, before the caches and the trim', async () => {
    const { calls, sample } = harness(false);
    sample(busy);
    for (let i = 1; i < 4; i++) expect(sample(quiet)).toBeUndefined();
    await sample(quiet);
    expect(calls).toEqual(['full', 'young', 'last-resort', 'caches', 'trim']);
  });

  it('skips it when load came back during the young release', async () => {
    const { calls, sample } = harness(true);
    sample(busy);
    for (let i = 1; i < 4; i++) sample(quiet);
    await sample(quiet);
    expect(calls).toEqual(['full', 'young']);
  });
});
