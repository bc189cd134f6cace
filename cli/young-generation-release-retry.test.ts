import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.ts';
import { createQuietRelease, MAX_RETRIES, type ReleaseResult } from './young-generation-release.ts';

const MiB = 2 ** 20;
const busy = 0.9;
const quiet = 0.01;

/**
 * A young-generation release whose GCs ran out without V8 shrinking the new space (task R: at every
 * start-up, and after 1–2 of 12 floods) is retried at the next quiet stretch, not only after the next
 * busy period; and only MAX_RETRIES times, so a V8 that never shrinks is not given GCs forever.
 * Driven sample by sample, the memory as plain numbers, as in young-generation-release.test.ts.
 */
describe('quiet-time release: a young-generation release that gave up', () => {
  function harness(shrinks: () => boolean) {
    const memory = { newSpace: 64 * MiB };
    const calls: string[] = [];
    const sample = createQuietRelease({
      gc: (o) => calls.push(o?.type ?? 'full'),
      logger: silentLogger,
      gauges: {
        newSpace: () => memory.newSpace,
        oldGenerationUsed: () => 30 * MiB,
        oldSpaceFree: () => 0,
        rss: () => 100 * MiB,
      },
      releaseYoung: async (): Promise<ReleaseResult> => {
        calls.push('young');
        const beforeBytes = memory.newSpace;
        if (shrinks()) memory.newSpace = 2 * MiB;
        return { beforeBytes, afterBytes: memory.newSpace, gcs: 24, ms: 24 };
      },
    });
    /** quiet samples until one starts a release (awaited), at most 10: whether one started */
    const nextRelease = async () => {
      for (let i = 0; i < 10; i++) {
        const release = sample(quiet);
        if (release) {
          await release;
          return true;
        }
      }
      return false;
    };
    /** releases started by quiet samples until 10 in a row start none */
    const releasesWhileQuiet = async () => {
      let n = 0;
      while (await nextRelease()) n++;
      return n;
    };
    return { calls, sample, nextRelease, releasesWhileQuiet };
  }

  it('starts again at the next quiet stretch, with no busy sample in between, and stops once V8 has shrunk', async () => {
    let attempt = 0;
    const { calls, sample, releasesWhileQuiet } = harness(() => ++attempt === 2);
    sample(busy);
    // the first gives up (no shrink), the second shrinks the new space; then nothing is grown
    expect(await releasesWhileQuiet()).toBe(2);
    expect(calls).toEqual(['young', 'young']);
  });

  it(`gives up after ${MAX_RETRIES} retries when V8 never shrinks, until the next busy period`, async () => {
    const { calls, sample, nextRelease, releasesWhileQuiet } = harness(() => false);
    sample(busy);
    for (let i = 0; i < 1 + MAX_RETRIES; i++) expect(await nextRelease()).toBe(true);
    // the release's own GCs can make the sample right after it read busy: that arms the detector
    // (one more release, as before) but is not a busy period, so it brings no more retries
    sample(busy);
    expect(await releasesWhileQuiet()).toBe(1);
    // a real busy period: the release and its retries again
    sample(busy);
    expect(await releasesWhileQuiet()).toBe(1 + MAX_RETRIES);
    expect(calls.length).toBe(2 * (1 + MAX_RETRIES) + 1);
  });
});
