/**
 * Back-off of the quiet-time release (cli/young-generation-release.ts) when bursts keep coming back.
 *
 * Why: the release shrinks V8's young generation to its 1 MiB minimum, and the next burst pays to
 * grow it back: 17–18 scavenges in its first 0.8 s, each promoting what is in flight, then a
 * mark-compact (70–160 ms event-loop gaps; at 3,000 series 98% of the PUBACKs over 50 ms at half
 * the max rate fell in the first second after a release, bench/RESULTS.md "PUBACK p99 at half rate,
 * round 5"). That cost is worth paying when the process then stays quiet (the memory is given back
 * for as long as it idles), not when load comes back seconds later.
 *
 * What: a level k, 0 at start. Load back within REBOUND_MS after a release finished (or during it:
 * a release that stopped because of load) raises k, up to MAX_LEVEL; REBOUND_MS of quiet after a
 * release lowers it by one. The quiet stretch a release waits for is the base × 2^k (1 s up to 32 s
 * with the defaults). A process that never sees a burst come back right after a release stays at
 * k = 0, i.e. behaves as it did without the back-off. Sample-driven, no timers, so tests drive it.
 */

/** How soon after a release load must come back to count as a rebound. */
export const REBOUND_MS = 5000;
/** Highest level: 2^5 = 32 times the base quiet stretch. */
export const MAX_BACKOFF_LEVEL = 5;

export interface ReleaseBackoffOptions {
  /** samples after a release in which a busy one counts as a rebound (REBOUND_MS / sample period) */
  reboundSamples: number;
  maxLevel: number;
}

export interface ReleaseBackoff {
  /** the current level k */
  level(): number;
  /** the factor (2^k) on the quiet stretch a release waits for */
  quietFactor(): number;
  /** a release finished (the watch for a rebound starts) */
  released(): void;
  /** load came back during a release (it stopped early): a rebound at once */
  rebound(): void;
  /** one event-loop sample, taken while no release runs */
  sample(busy: boolean): void;
}

export function createReleaseBackoff(o: ReleaseBackoffOptions): ReleaseBackoff {
  if (!(o.reboundSamples >= 1) || !(o.maxLevel >= 0)) {
    throw new Error(`release back-off: reboundSamples must be >= 1 and maxLevel >= 0, got ${o.reboundSamples}, ${o.maxLevel}`);
  }
  let level = 0;
  /** samples left in the watch after a release; 0: not watching */
  let watchLeft = 0;
  /**
   * The first sample after a release spans the release's own last steps (its last minor GC,
   * the cache release, malloc_trim): its busy share is the release's, not load's, so it is skipped.
   */
  let skipNext = false;
  const raise = () => {
    level = Math.min(level + 1, o.maxLevel);
    watchLeft = 0;
  };
  return {
    level: () => level,
    quietFactor: () => 2 ** level,
    released() {
      watchLeft = o.reboundSamples;
      skipNext = true;
    },
    rebound: raise,
    sample(busy) {
      if (watchLeft === 0) return;
      if (skipNext) {
        skipNext = false;
        return;
      }
      if (busy) return raise();
      watchLeft--;
      if (watchLeft === 0) level = Math.max(level - 1, 0);
    },
  };
}
