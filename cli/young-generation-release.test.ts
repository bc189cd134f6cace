import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.ts';
import {
  compactingGc,
  createQuietDetector,
  newSpaceBytes,
  OLD_FRAGMENTED_BYTES,
  OLD_GROWN_BYTES,
  oldSpaceFreeBytes,
  oldSpaceUsedBytes,
  RSS_GROWN_BYTES,
  releaseYoungGeneration,
  startYoungGenerationRelease,
} from './young-generation-release.ts';

const MiB = 2 ** 20;

/** node's gc() without --expose-gc on the test runner's command line */
function exposedGc(): (o?: { type: 'minor' }) => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc');
}

/** A burst like an MQTT connect storm: short-lived objects with a window that survives a scavenge. */
function burst() {
  let keep: object[] = [];
  for (let i = 0; i < 3e6; i++) {
    keep.push({ a: i, b: `x${i}`, c: [i] });
    if (keep.length > 20_000) keep = keep.slice(10_000);
  }
  return keep.length;
}

describe('quiet detector', () => {
  const grown = 64 * MiB;

  it('never releases while the loop is busy, however grown the new space', () => {
    const decide = createQuietDetector();
    for (let i = 0; i < 100; i++) expect(decide(0.9, grown)).toBe(false);
    for (let i = 0; i < 100; i++) expect(decide(i % 3 === 0 ? 0.5 : 0.01, grown)).toBe(false); // load with gaps
  });

  it('releases once after ~1 s of quiet that follows a busy period, then waits for the next busy period', () => {
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
});

describe('releaseYoungGeneration (real V8)', () => {
  it('gets V8 to shrink a grown new space that back-to-back GCs leave committed', async () => {
    const gc = exposedGc();
    burst();
    const grown = newSpaceBytes();
    expect(grown).toBeGreaterThan(16 * MiB);
    // the burst stays in V8's throughput window, or quick GCs replace it with a high rate: no shrink
    for (let i = 0; i < 16; i++) gc({ type: 'minor' });
    expect(newSpaceBytes()).toBeGreaterThan(grown / 2);
    burst();
    const r = await releaseYoungGeneration(gc);
    expect(r.afterBytes).toBeLessThan(grown / 2);
    expect(r.gcs).toBeLessThanOrEqual(16);
    expect(newSpaceBytes()).toBeLessThan(grown / 2);
  });

  it('runs one full GC at the quiet moment after a burst that left dead objects in the old space', async () => {
    const real = exposedGc();
    const calls: string[] = [];
    const gc = (o?: { type: 'minor' }) => {
      calls.push(o?.type ?? 'full');
      real(o);
    };
    real();
    const release = startYoungGenerationRelease(silentLogger, { gc, sampleMs: 20 });
    try {
      // a flood's backlog: objects alive across scavenges (promoted), then all dead at once
      let backlog: object[] | null = [];
      for (let i = 0; i < 1.5e6; i++) backlog.push({ a: i, b: [i] });
      const before = oldSpaceUsedBytes();
      expect(before).toBeGreaterThan(OLD_GROWN_BYTES);
      backlog = null;
      for (let i = 0; i < 100 && !calls.includes('full'); i++) await new Promise((r) => setTimeout(r, 20));
      expect(calls).toContain('full');
      expect(oldSpaceUsedBytes()).toBeLessThan(before - OLD_GROWN_BYTES);
    } finally {
      release.stop();
    }
  });

  it('compacts an old space that survivors left sparse, where a plain full GC leaves its pages committed', () => {
    const gc = exposedGc();
    // a flood's backlog, promoted, of which one object in eight outlives it: every page keeps a few
    let backlog: object[] | null = [];
    for (let i = 0; i < 1.5e6; i++) backlog.push({ a: i, b: [i] });
    const survivors = backlog.filter((_, i) => i % 8 === 0);
    backlog = null;
    gc();
    expect(oldSpaceFreeBytes()).toBeGreaterThan(OLD_FRAGMENTED_BYTES);
    compactingGc(gc);
    expect(oldSpaceFreeBytes()).toBeLessThan(OLD_FRAGMENTED_BYTES);
    expect(survivors).toHaveLength(187_500);
  });

  it('frees caches and then trims malloc at the quiet moment, after its GCs', async () => {
    const real = exposedGc();
    const calls: string[] = [];
    const gc = (o?: { type: 'minor' }) => {
      calls.push(o?.type ?? 'full');
      real(o);
    };
    const release = startYoungGenerationRelease(silentLogger, {
      gc,
      sampleMs: 20,
      releaseCaches: () => calls.push('caches'),
      mallocTrim: () => calls.push('trim'),
    });
    try {
      burst();
      for (let i = 0; i < 200 && !calls.includes('trim'); i++) await new Promise((r) => setTimeout(r, 20));
      expect(calls.slice(-2)).toEqual(['caches', 'trim']);
      expect(calls.indexOf('minor')).toBeGreaterThanOrEqual(0);
      expect(calls.indexOf('minor')).toBeLessThan(calls.indexOf('caches'));
    } finally {
      release.stop();
    }
  });

  it('is off without node gc', () => {
    const r = startYoungGenerationRelease(silentLogger, { gc: undefined });
    r.stop();
  });
});
