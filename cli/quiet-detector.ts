/**
 * When the quiet-time release (cli/young-generation-release.ts) runs: after ~1 s of a quiet event
 * loop that follows a busy period, when the heap or RSS grew. Apart from timers and V8 so it can be
 * tested sample by sample.
 */
import { OLD_GROWN_BYTES } from './old-space-release.ts';

/**
 * RSS growth since the last release that makes a quiet moment run one although the heap did not
 * grow: native memory alone (after a flood's drain, its last merge refills ~20 MiB of the store's
 * page cache a second or two after the first release).
 */
export const RSS_GROWN_BYTES = 16 * 2 ** 20;

export interface QuietDetectorOptions {
  /** event-loop utilisation (0–1) at or above which a sample counts as busy */
  busyUtilization: number;
  /** consecutive quiet samples before a release */
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
