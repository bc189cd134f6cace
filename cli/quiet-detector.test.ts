/** When the quiet-time release runs (cli/quiet-detector.ts), sample by sample: no timers, no V8. */
import { describe, expect, it } from 'vitest';
import { OLD_GROWN_BYTES } from './old-space-release.ts';
import { loadConfig } from './config.ts';
import { createQuietDetector, DEFAULT_RELEASE_QUIET_MS, quietSamplesFor, RSS_GROWN_BYTES } from './quiet-detector.ts';

const MiB = 2 ** 20;

describe('quiet detector', () => {
  const grown = 64 * MiB;

  it('never releases while the loop is busy, however grown the new space', () => {
    const decide = createQuietDetector();
    for (let i = 0; i < 100; i++) expect(decide(0.9, grown)).toBe(false);
    for (let i = 0; i < 100; i++) expect(decide(i % 3 === 0 ? 0.5 : 0.01, grown)).toBe(false); // load with gaps
  });

  it('releases once after its count of quiet samples that follows a busy period, then waits for the next busy period', () => {
    const decide = createQuietDetector();
    expect(decide(0.8, grown)).toBe(false);
    expect([1, 2, 3].map(() => decide(0.01, grown))).toEqual([false, false, false]);
    expect(decide(0.01, grown)).toBe(true);
    for (let i = 0; i < 20; i++) expect(decide(0, grown)).toBe(false);
    decide(0.3, grown);
    expect([1, 2, 3, 4].map(() => decide(0.01, grown))).toEqual([false, false, false, true]);
  });

  it('leaves a small new space alone', () => {
    const decide = createQuietDetector();
    decide(0.9, grown);
    for (let i = 0; i < 10; i++) expect(decide(0, 8 * MiB)).toBe(false);
  });

  it('releases for a grown old space even when the new space is small', () => {
    const decide = createQuietDetector();
    decide(0.9, 0);
    expect([1, 2, 3].map(() => decide(0.01, 8 * MiB, OLD_GROWN_BYTES + 1))).toEqual([false, false, false]);
    expect(decide(0.01, 8 * MiB, OLD_GROWN_BYTES + 1)).toBe(true);
    decide(0.9, 0);
    for (let i = 0; i < 10; i++) expect(decide(0, 8 * MiB, OLD_GROWN_BYTES - 1)).toBe(false);
  });
});

describe('quiet detector, native side', () => {
  it('releases for RSS grown since the last release when the heap did not grow', () => {
    const decide = createQuietDetector();
    decide(0.9, 0);
    expect([1, 2, 3].map(() => decide(0.01, 8 * MiB, 0, RSS_GROWN_BYTES + 1))).toEqual([false, false, false]);
    expect(decide(0.01, 8 * MiB, 0, RSS_GROWN_BYTES + 1)).toBe(true);
    decide(0.9, 0);
    for (let i = 0; i < 10; i++) expect(decide(0, 8 * MiB, 0, RSS_GROWN_BYTES - 1)).toBe(false);
  });

  it("the product's quiet stretch is 20 s of samples, not ~1 s: the next burst pays for a release (DAKKIO_MEMORY_RELEASE_QUIET_MS)", () => {
    expect(DEFAULT_RELEASE_QUIET_MS).toBe(20_000);
    expect(loadConfig({}).memoryReleaseQuietMs).toBe(DEFAULT_RELEASE_QUIET_MS);
    expect(loadConfig({ DAKKIO_MEMORY_RELEASE_QUIET_MS: '1000' }).memoryReleaseQuietMs).toBe(1000);
    expect(() => loadConfig({ DAKKIO_MEMORY_RELEASE_QUIET_MS: '-1' })).toThrow(/DAKKIO_MEMORY_RELEASE_QUIET_MS/);
    expect(quietSamplesFor(DEFAULT_RELEASE_QUIET_MS, 250)).toBe(80);
    expect(quietSamplesFor(1000, 250)).toBe(4);
    expect(quietSamplesFor(0, 250)).toBe(1);
  });
});
