import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import type { Logger } from '../core/logger.ts';
import { createMallocTrim, type MallocTrim } from './malloc-trim.ts';

/**
 * Quiet-time release of the young generation.
 *
 * Why: dakkio runs with a 64 MiB semi-space (bin/dakkio.mjs) so in-flight QoS 1 publishes die young.
 * Under load V8 grows the new space up to 2 × 64 MiB and, once the process goes quiet, keeps it:
 * V8 shrinks new space only at a GC that sees a low allocation throughput, and it measures that
 * throughput over its last ten GC samples (V8 11.3, Node 20: GCTracer ring buffer, 5 s frame). An
 * idle broker runs no GC, so the burst's samples stay in that window and the grown semi-spaces stay
 * committed (bench:idle: 1.25x bare Aedes per idle connection, bench/RESULTS.md).
 *
 * What: when the event loop has been quiet for ~1 s after being busy, and the new space is grown,
 * run about a dozen minor GCs 25 ms apart (scavenges of a near-empty new space: a few ms of CPU in
 * all), so that V8's window holds quiet intervals instead of the burst (see releaseYoungGeneration);
 * V8 itself then shrinks the new space and uncommits the from-space. It never runs under load (the loop is not quiet then), and once per
 * busy period at most: if this V8 does not shrink, it does not retry until the loop was busy again.
 *
 * Old space too: after a flood (bench:qos0-storm) the old space holds 100+ MiB of what the backlog
 * promoted, nearly all of it dead, and an idle process runs no major GC either: V8's memory reducer
 * got to it only ~90 s after the drain. So the same quiet moment runs one full GC first when the old
 * space's used bytes grew by OLD_GROWN_BYTES since the last one (~10 ms for a ~35 MiB live set; a
 * full GC also empties the new space). A broker whose old space does not grow never pays for it.
 *
 * That full GC frees the dead objects but leaves the old space's pages committed wherever a few
 * survivors sit on them (after a 20 s flood: 86 MiB committed for 30 MiB live), and V8 compacts
 * only a few pages per GC. When more than OLD_FRAGMENTED_BYTES are committed but free after it, one
 * compacting GC follows (compactingGc). Last, the memory that glibc's malloc kept (socket buffers,
 * Buffers, SQLite pages freed by the burst) goes back to the OS through malloc_trim
 * (cli/malloc-trim.ts), once the GCs have freed what they free.
 */

/**
 * V8's GCTracer keeps the allocation of the last ten GC-to-GC intervals (bytes and duration) and
 * decides on their average. The interval that ends the burst holds up to a whole semi-space of
 * allocation, so ten more intervals have to push it out, and the ones that replace it must be slow
 * enough to average under V8's 1,000 bytes/ms: back-to-back GCs are not (measured: a few KiB each
 * in well under a millisecond), GCs SPACING_MS apart are. So: minor GCs SPACING_MS apart until V8
 * shrinks the new space, at most MAX_GCS (the ten, and spare ones: 11–14 were needed in trials).
 */
const SPACING_MS = 25;
const MAX_GCS = 16;
/** Growth of the old space's used bytes (live and dead) since the last full GC that makes a quiet moment run one. */
export const OLD_GROWN_BYTES = 32 * 2 ** 20;
/**
 * RSS growth since the last release that makes a quiet moment run one although the heap did not
 * grow: native memory alone (after a flood's drain, its last merge refills ~20 MiB of the store's
 * page cache a second or two after the first release).
 */
export const RSS_GROWN_BYTES = 16 * 2 ** 20;
/** Committed but free bytes of the old space, after the full GC, that make it compact. */
export const OLD_FRAGMENTED_BYTES = 32 * 2 ** 20;

export interface ReleaseResult {
  beforeBytes: number;
  afterBytes: number;
  gcs: number;
  /** time spent in the GCs */
  ms: number;
}

/** node's gc (--expose-gc): `{ type: 'minor' }` scavenges; no argument runs a full, synchronous GC. */
type NodeGc = (options?: { type: 'minor' }) => void;

/** Committed (physical) bytes of V8's new space. */
export function newSpaceBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? 0;
}

/** Used (live and not yet collected) bytes of V8's old space. */
export function oldSpaceUsedBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')?.space_used_size ?? 0;
}

/** Committed bytes of V8's old space that hold no object. */
export function oldSpaceFreeBytes(): number {
  const old = getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
  return old ? old.physical_space_size - old.space_used_size : 0;
}

/**
 * A full GC that moves every survivor off its sparse page so the pages are freed. V8 has no
 * API for it; its --compact-on-every-full-gc flag is read at each GC's start, so it is on for
 * this one GC only. Costs ~5 ms per MiB of live old space (~150 ms for 30 MiB, measured with
 * many small objects): run only at a quiet moment, and only when it frees OLD_FRAGMENTED_BYTES.
 */
export function compactingGc(gc: NodeGc): void {
  setFlagsFromString('--compact-on-every-full-gc');
  try {
    gc();
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
}

/** The sequence above; stops as soon as V8 has shrunk the new space to below half of what it was. */
export async function releaseYoungGeneration(
  gc: NodeGc,
  measure: () => number = newSpaceBytes,
  spacingMs = SPACING_MS,
): Promise<ReleaseResult> {
  const beforeBytes = measure();
  let afterBytes = beforeBytes;
  let gcs = 0;
  let ms = 0;
  while (gcs < MAX_GCS && afterBytes > beforeBytes / 2) {
    if (gcs > 0) await new Promise((r) => setTimeout(r, spacingMs));
    const t = performance.now();
    gc({ type: 'minor' });
    ms += performance.now() - t;
    gcs++;
    afterBytes = measure();
  }
  return { beforeBytes, afterBytes, gcs, ms };
}

export interface QuietDetectorOptions {
  /** event-loop utilisation (0–1) at or above which a sample counts as busy */
  busyUtilization: number;
  /** consecutive quiet samples before a release */
  quietSamples: number;
  /** new-space size (bytes) above which it counts as grown */
  grownBytes: number;
  /** old-space growth (bytes) since the last full GC above which it counts as grown */
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
 * The decision, apart from timers and V8 so it can be tested: fed one sample per tick, says when to
 * release. Armed by a busy sample, disarmed by a release.
 */
export function createQuietDetector(o: QuietDetectorOptions = DEFAULT_QUIET) {
  let armed = false;
  let quiet = 0;
  return (utilization: number, newSpace: number, oldGrowth = 0, rssGrowth = 0): boolean => {
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
}

export interface YoungGenerationRelease {
  stop(): void;
}

export interface YoungGenerationReleaseOptions {
  /** node's gc; default: the global one that --expose-gc installs (undefined: the release is off) */
  gc?: NodeGc | undefined;
  /** event-loop sampling period (ms) */
  sampleMs?: number;
  /** frees caches that refill on demand (the readings store's page cache), before the trim */
  releaseCaches?: () => void;
  /** default: glibc's malloc_trim where it can be reached (cli/malloc-trim.ts) */
  mallocTrim?: MallocTrim | undefined;
}

/**
 * Samples the event loop every `sampleMs` (an unref'd timer) and releases the young generation when
 * quiet. Needs node's `gc` (started with --expose-gc, as bin/dakkio.mjs and npm start do); without it
 * this does nothing.
 */
export function startYoungGenerationRelease(logger: Logger, o: YoungGenerationReleaseOptions = {}): YoungGenerationRelease {
  const gc = 'gc' in o ? o.gc : (globalThis as { gc?: NodeGc }).gc;
  const sampleMs = o.sampleMs ?? 250;
  if (typeof gc !== 'function') {
    logger.debug({}, 'young-generation release off: node runs without --expose-gc');
    return { stop() {} };
  }
  const mallocTrim = 'mallocTrim' in o ? o.mallocTrim : createMallocTrim();
  const decide = createQuietDetector();
  let last = performance.eventLoopUtilization();
  let releasing = false;
  // old-space used bytes right after the last full GC (start-up's garbage counts as growth once)
  let oldAfterFullGc = oldSpaceUsedBytes();
  // RSS right after the last release (start-up's growth counts once)
  let rssAfterRelease = process.memoryUsage.rss();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, last);
    last = now;
    // heap statistics only when it could matter: a busy sample decides nothing
    const quiet = utilization < DEFAULT_QUIET.busyUtilization;
    const grown = quiet ? [newSpaceBytes(), oldSpaceUsedBytes() - oldAfterFullGc, process.memoryUsage.rss() - rssAfterRelease] : [0, 0, 0];
    if (releasing || !decide(utilization, grown[0]!, grown[1], grown[2])) return;
    releasing = true;
    const oldBefore = oldSpaceUsedBytes();
    let fullGcMs: number | undefined;
    let compactMs: number | undefined;
    if (oldBefore - oldAfterFullGc > DEFAULT_QUIET.oldGrownBytes) {
      let t = performance.now();
      gc();
      fullGcMs = Math.round((performance.now() - t) * 10) / 10;
      if (oldSpaceFreeBytes() > OLD_FRAGMENTED_BYTES) {
        t = performance.now();
        compactingGc(gc);
        compactMs = Math.round((performance.now() - t) * 10) / 10;
      }
      oldAfterFullGc = oldSpaceUsedBytes();
    } else {
      // V8's own major GCs lower the baseline too
      oldAfterFullGc = Math.min(oldAfterFullGc, oldBefore);
    }
    const full = fullGcMs !== undefined ? { oldSpaceMiB: [oldBefore / 2 ** 20, oldAfterFullGc / 2 ** 20], fullGcMs, compactMs } : {};
    const young = newSpaceBytes() > DEFAULT_QUIET.grownBytes ? releaseYoungGeneration(gc) : Promise.resolve(undefined);
    void young.then((r) => {
      releasing = false;
      const t = performance.now();
      try {
        o.releaseCaches?.();
      } catch (err) {
        logger.warn({ err }, 'cache release at quiet time failed');
      }
      // last: the GCs above have freed the burst's Buffers (their backing stores are malloc'd)
      mallocTrim?.();
      const nativeMs = Math.round((performance.now() - t) * 10) / 10;
      rssAfterRelease = process.memoryUsage.rss();
      const newSpace = r ? { newSpaceMiB: [r.beforeBytes / 2 ** 20, r.afterBytes / 2 ** 20], gcs: r.gcs, ms: Math.round(r.ms * 10) / 10 } : {};
      logger.debug({ ...newSpace, ...full, nativeMs }, 'heap released at quiet time');
    });
  }, sampleMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
