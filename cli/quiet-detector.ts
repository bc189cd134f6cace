/**
 * When the quiet-time release (cli/young-generation-release.ts) runs: after a quiet stretch of the event
 * loop (DEFAULT_RELEASE_QUIET_MS, 20 s by default) that follows a busy period, when the heap or RSS grew. Apart from timers and V8 so it can be
 * tested sample by sample.
 */
import { OLD_GROWN_BYTES } from './old-space-release.ts';

/**
 * RSS growth since the last release that makes a quiet moment run one although the heap did not
 * grow: native memory alone (after a flood's drain, its last merge refills ~20 MiB of the store's
 * page cache a second or two after the first release).
 */
export const RSS_GROWN_BYTES = 16 * 2 ** 20;

/**
 * How long the event loop must stay quiet, after being busy, before the release runs (the default of
 * DAKKIO_MEMORY_RELEASE_QUIET_MS).
 *
 * Why 20 s and not ~1 s (the first choice, which bench:idle read 3 s after its last CONNACK): the
 * release costs the next burst. It shrinks the young generation to 1 MiB and runs a full GC, so the
 * load that comes back regrows the new space through ~20 scavenges and a mark-compact: half of
 * dakkio's CPU per connect in the connect storms (0.163 vs 0.083 ms with the release off, task K3)
 * and most of the PUBACK tail at half rate (98% of the >50 ms PUBACKs fall in the first second after a
 * release, task P; bench/RESULTS.md). A fleet that reports every few seconds paid that at every wave.
 * Memory is only worth giving back when the broker is idle for a while, not between waves: 20 s spans
 * the common report intervals of 1-10 s (and the benches' gaps between their runs, 5-12 s).
 */
export const DEFAULT_RELEASE_QUIET_MS = 20_000;

/** Quiet samples of `sampleMs` that make `quietMs` (at least one). */
export function quietSamplesFor(quietMs: number, sampleMs: number): number {
  return Math.max(1, Math.ceil(quietMs / sampleMs));
}

export interface QuietDetectorOptions {
  /** event-loop utilisation (0–1) at or above which a sample counts as busy */
  busyUtilization: number;
  /** consecutive quiet samples before a release (the product derives it from the quiet time: quietSamplesFor) */
  quietSamples: number;
  /** new-space size (bytes) above which it counts as grown */
  grownBytes: number;
  /** old-generation growth (bytes) since the last full GC above which it counts as grown */
  oldGrownBytes: number;
  /** RSS growth (bytes) since the last release above which the native side counts as grown */
  rssGrownBytes: number;
}

export const DEFAULT_QUIET: QuietDetectorOptions = {
  busyUtilization: 0.05,
  quietSamples: 4,
  grownBytes: 16 * 2 ** 20,
  oldGrownBytes: OLD_GROWN_BYTES,
  rssGrownBytes: RSS_GROWN_BYTES,
};

/**
 * The decision: fed one sample per tick, says when to release. Armed by a busy sample (or by rearm(),
 * when a release stopped early), disarmed by a release.
 */
export function createQuietDetector(o: QuietDetectorOptions = DEFAULT_QUIET) {
  let armed = false;
  let quiet = 0;
  const decide = (utilization: number, newSpace: number, oldGrowth = 0, rssGrowth = 0): boolean => {
    if (utilization >= o.busyUtilization) {
      armed = true;
      quiet = 0;
      return false;
    }
    quiet++;
    if (!armed || quiet < o.quietSamples) return false;
    if (newSpace <= o.grownBytes && oldGrowth <= o.oldGrownBytes && rssGrowth <= o.rssGrownBytes) return false;
    armed = false;
    return true;
  };
  /** a release that stopped early: the next stretch of quiet samples starts it again */
  return Object.assign(decide, {
    rearm() {
      armed = true;
      quiet = 0;
    },
  });
}
