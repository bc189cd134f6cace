import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.ts';
import { createReleaseBackoff } from './release-backoff.ts';
import { createQuietRelease } from './young-generation-release.ts';

const MiB = 2 ** 20;

describe('quiet-time release back-off (cli/release-backoff.ts)', () => {
  const busy = 0.9;
  const quiet = 0.01;
  // one sample a second: REBOUND_MS (5 s) is 5 samples; the base quiet stretch stays 4 samples
  const sampleMs = 1000;
  const grownMemory = () => ({ newSpace: 128 * MiB, oldGenerationUsed: 30 * MiB, oldSpaceFree: 0, rss: 100 * MiB });

  function releaseStep() {
    const calls: string[] = [];
    const memory = grownMemory();
    const sample = createQuietRelease({
      gc: (o) => calls.push(o?.type ?? 'full'),
      logger: silentLogger,
      gauges: {
        newSpace: () => memory.newSpace,
        oldGenerationUsed: () => memory.oldGenerationUsed,
        oldSpaceFree: () => memory.oldSpaceFree,
        rss: () => memory.rss,
      },
      releaseYoung: async () => {
        calls.push('young');
        return { beforeBytes: memory.newSpace, afterBytes: 0, gcs: 1, ms: 0 };
      },
      sampleMs,
    });
    /** quiet samples: none of the first n - 1 starts a release, the n-th does */
    const releaseAfterQuiet = async (n: number) => {
      for (let i = 1; i < n; i++) expect(sample(quiet), `quiet sample ${i} of ${n}`).toBeUndefined();
      const release = sample(quiet);
      expect(release, `quiet sample ${n}`).toBeInstanceOf(Promise);
      await release;
    };
    /** load back right after a release (its first sample spans the release's own end, so skipped) */
    const rebound = () => {
      sample(quiet);
      sample(busy);
    };
    return { calls, sample, releaseAfterQuiet, rebound };
  }

  it('doubles the quiet stretch each time load comes back within REBOUND_MS of a release, up to 32x', async () => {
    const { sample, releaseAfterQuiet, rebound } = releaseStep();
    sample(busy);
    await releaseAfterQuiet(4);
    for (const n of [8, 16, 32, 64, 128, 128]) {
      rebound();
      await releaseAfterQuiet(n);
    }
  });

  it('halves it again after a release that REBOUND_MS of quiet follows', async () => {
    const { sample, releaseAfterQuiet, rebound } = releaseStep();
    sample(busy);
    await releaseAfterQuiet(4);
    rebound();
    await releaseAfterQuiet(8);
    rebound();
    await releaseAfterQuiet(16); // level 2
    // quiet through the watch (1 skipped + 5 samples): level 1
    for (let i = 0; i < 6; i++) expect(sample(quiet)).toBeUndefined();
    sample(busy);
    await releaseAfterQuiet(8);
    for (let i = 0; i < 6; i++) expect(sample(quiet)).toBeUndefined();
    sample(busy);
    await releaseAfterQuiet(4); // back to level 0
  });

  it('a burst after REBOUND_MS of quiet is no rebound: bursts with long quiet between them release as before', async () => {
    const { calls, sample, releaseAfterQuiet } = releaseStep();
    for (let burst = 0; burst < 5; burst++) {
      sample(busy);
      await releaseAfterQuiet(4);
      for (let i = 0; i < 10; i++) expect(sample(quiet)).toBeUndefined();
    }
    expect(calls.filter((c) => c === 'young')).toHaveLength(5);
  });

  it('a release stopped by load counts as a rebound at once', async () => {
    const calls: string[] = [];
    let stop = true;
    const sample = createQuietRelease({
      gc: () => {},
      logger: silentLogger,
      gauges: { newSpace: () => 128 * MiB, oldGenerationUsed: () => 30 * MiB, oldSpaceFree: () => 0, rss: () => 100 * MiB },
      releaseYoung: async () => {
        calls.push('young');
        return { beforeBytes: 128 * MiB, afterBytes: 128 * MiB, gcs: 2, ms: 0, aborted: stop };
      },
      sampleMs,
    });
    sample(busy);
    for (let i = 1; i < 4; i++) sample(quiet);
    await sample(quiet);
    stop = false;
    for (let i = 1; i < 8; i++) expect(sample(quiet)).toBeUndefined();
    await sample(quiet);
    expect(calls).toEqual(['young', 'young']);
  });

  it('rejects a back-off with no rebound window', () => {
    expect(() => createReleaseBackoff({ reboundSamples: 0, maxLevel: 5 })).toThrow(/reboundSamples/);
  });
});
