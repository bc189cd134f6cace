import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.ts';
import {
  BURST_MS,
  createRegrowthSwitch,
  DEFAULT_GROWTH_FACTOR,
  type GcSample,
  growthFactorFlag,
  REGROWTH_FACTOR,
  startYoungGenerationRegrowth,
} from './young-generation-regrowth.ts';
import { releaseYoungGeneration } from './young-generation-release.ts';

const MiB = 2 ** 20;
const ON = growthFactorFlag(REGROWTH_FACTOR);
const OFF = growthFactorFlag(DEFAULT_GROWTH_FACTOR);

const minor = (startMs: number, forced = false): GcSample => ({ minor: true, forced, startMs });
const major = (startMs: number, forced = false): GcSample => ({ minor: false, forced, startMs });

/** a switch over a settable new-space gauge, recording the flags it sets */
function fixture(newSpace = 1 * MiB) {
  const flags: string[] = [];
  const gauge = { bytes: newSpace };
  const s = createRegrowthSwitch({ setFlags: (f) => flags.push(f), newSpace: () => gauge.bytes, smallBytes: 16 * MiB });
  return { s, flags, gauge };
}

describe('regrowth switch', () => {
  it('turns the one-step growth on when unforced scavenges follow each other in a released (small) new space', () => {
    const { s, flags } = fixture();
    s.onGc(minor(1000));
    expect(flags).toEqual([]);
    s.onGc(minor(1000 + BURST_MS / 2));
    expect(flags).toEqual([ON]);
    expect(s.on).toBe(true);
  });

  it('stays off for an idle trickle: scavenges further apart than BURST_MS', () => {
    const { s, flags } = fixture();
    for (let t = 0; t < 5000; t += BURST_MS * 4) s.onGc(minor(t));
    expect(flags).toEqual([]);
  });

  it("stays off during the release's own (forced) scavenges, and when the new space is already grown", () => {
    const { s, flags, gauge } = fixture();
    for (let t = 0; t < 600; t += 25) s.onGc(minor(t, true));
    expect(flags).toEqual([]);
    gauge.bytes = 64 * MiB;
    for (let t = 1000; t < 1100; t += 5) s.onGc(minor(t));
    expect(flags).toEqual([]);
    // a major GC between two scavenges neither starts nor breaks a burst
    gauge.bytes = 1 * MiB;
    s.onGc(minor(2000));
    s.onGc(major(2001));
    s.onGc(minor(2002));
    expect(flags).toEqual([ON]);
  });

  it("goes back to V8's default once a GC shows the new space grown, at a forced GC, or when told (hold time, stop)", () => {
    const { s, flags, gauge } = fixture();
    const burst = (t: number) => {
      s.onGc(minor(t));
      s.onGc(minor(t + 1));
    };
    burst(0);
    s.onGc(minor(2)); // still small: stays on
    expect(flags).toEqual([ON]);
    gauge.bytes = 128 * MiB;
    s.onGc(minor(3));
    expect(flags).toEqual([ON, OFF]);
    expect(s.on).toBe(false);

    gauge.bytes = 1 * MiB; // released again
    burst(10_000);
    s.onGc(minor(10_400, true)); // a release started before the new space grew
    expect(flags).toEqual([ON, OFF, ON, OFF]);

    burst(20_000);
    s.off();
    s.off(); // idempotent
    expect(flags).toEqual([ON, OFF, ON, OFF, ON, OFF]);
  });

  it('needs a new pair of scavenges after turning off: the last one of the previous burst does not count', () => {
    const { s, flags, gauge } = fixture();
    s.onGc(minor(0));
    s.onGc(minor(1));
    gauge.bytes = 128 * MiB;
    s.onGc(minor(2));
    gauge.bytes = 1 * MiB;
    s.onGc(minor(3));
    expect(flags).toEqual([ON, OFF]);
    s.onGc(minor(4));
    expect(flags).toEqual([ON, OFF, ON]);
  });
});

describe('startYoungGenerationRegrowth', () => {
  it("is off without node's gc (no release) and when node was given a growth factor of its own", () => {
    expect(() => startYoungGenerationRegrowth(silentLogger, { gc: undefined }).stop()).not.toThrow();
    expect(() =>
      startYoungGenerationRegrowth(silentLogger, { gc: () => {}, execArgv: ['--semi-space-growth-factor=4'] }).stop(),
    ).not.toThrow();
  });

  it('real V8: after a release, a burst regrows the new space to its maximum in one step, and the next release still shrinks it', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (o?: { type: 'minor' }) => void;
    const capacity = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;
    const burst = async (): Promise<number[]> => {
      // in-flight objects that survive a scavenge, yielding so the GC observer runs between chunks
      const seen = new Set<number>();
      let keep: object[] = [];
      for (let chunk = 0; chunk < 3000; chunk++) {
        for (let i = 0; i < 1_000; i++) {
          keep.push({ a: i, b: `x${i}`, c: [i] });
          if (keep.length > 60_000) keep = keep.slice(30_000);
        }
        seen.add(capacity());
        await new Promise((r) => setImmediate(r));
      }
      return [...seen];
    };
    const regrowth = startYoungGenerationRegrowth(silentLogger, { gc, execArgv: [] });
    try {
      await burst();
      const max = capacity();
      const released = await releaseYoungGeneration(gc, undefined, 25, () => 0);
      expect(released.afterBytes).toBeLessThanOrEqual(released.beforeBytes / 2);
      const small = capacity();
      const sizes = (await burst()).filter((b) => b > small);
      // V8's own doubling passes through 2×, 4×, 8× … of the released size on its way back; the switch
      // turns on after the burst's first scavenges (at most one doubling seen), then one step to the maximum
      expect(sizes).toContain(max);
      expect(sizes.filter((b) => b < max).length).toBeLessThanOrEqual(1);
      const again = await releaseYoungGeneration(gc, undefined, 25, () => 0);
      expect(again.afterBytes).toBeLessThanOrEqual(again.beforeBytes / 2);
    } finally {
      regrowth.stop();
      setFlagsFromString(OFF);
    }
  });
});
