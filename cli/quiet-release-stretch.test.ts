/**
 * The release step waits for the quiet stretch it is given (the product's is 20 s of 250 ms samples,
 * cli/quiet-detector.ts): bursts a few seconds apart must release nothing, or every wave of a fleet
 * pays for regrowing the young generation.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.ts';
import { createQuietRelease } from './young-generation-release.ts';

const MiB = 2 ** 20;

describe('quiet-time release: the quiet stretch', () => {
  it('waits for the quiet samples it is given: a few seconds of quiet between two bursts release nothing', async () => {
    const calls: string[] = [];
    const sample = createQuietRelease({
      gc: (o) => calls.push(o?.type ?? 'full'),
      logger: silentLogger,
      gauges: {
        newSpace: () => 128 * MiB,
        oldGenerationUsed: () => 30 * MiB,
        oldSpaceFree: () => 0,
        rss: () => 100 * MiB,
      },
      releaseYoung: async () => {
        calls.push('young');
        return { beforeBytes: 128 * MiB, afterBytes: 0, gcs: 1, ms: 0 };
      },
      mallocTrim: () => calls.push('trim'),
      quietSamples: 80,
    });
    // bursts 5 s apart (20 samples of 250 ms): never quiet for long enough
    for (let wave = 0; wave < 5; wave++) {
      expect(sample(0.9)).toBeUndefined();
      for (let i = 0; i < 20; i++) expect(sample(0.01)).toBeUndefined();
    }
    expect(calls).toEqual([]);
    // then idle: the 80th quiet sample releases
    for (let i = 0; i < 59; i++) expect(sample(0.01)).toBeUndefined();
    await sample(0.01);
    expect(calls).toEqual(['young', 'trim']);
  });
});
