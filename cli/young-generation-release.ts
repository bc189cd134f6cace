import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import type { Logger } from '../core/logger.ts';
import { createMallocTrim, type MallocTrim } from './malloc-trim.ts';
import { memoryAtRest } from './memory-at-rest.ts';
import {
  compactingGc,
  type NodeGc,
  OLD_FRAGMENTED_BYTES,
  oldSpaceFreeBytes,
  oldGenerationUsedBytes,
} from './old-space-release.ts';
import { createQuietDetector, DEFAULT_QUIET, DEFAULT_RELEASE_QUIET_MS, quietSamplesFor } from './quiet-detector.ts';

/** The message of the release's debug line; bench:qos0-storm waits for it (bench/lib/release-watch.ts). */
export const RELEASE_LOG_MESSAGE = 'heap released at quiet time';

export {
  createQuietDetector,
  DEFAULT_QUIET,
  DEFAULT_RELEASE_QUIET_MS,
  type QuietDetectorOptions,
  RSS_GROWN_BYTES,
} from './quiet-detector.ts';

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
 * What: when the event loop has been quiet for a while after being busy (20 s by default,
 * DAKKIO_MEMORY_RELEASE_QUIET_MS; why not sooner: cli/quiet-detector.ts), and the new space is grown,
 * run about a dozen minor GCs 25 ms apart (scavenges of a near-empty new space: a few ms of CPU in
 * all), so that V8's window holds quiet intervals instead of the burst (see releaseYoungGeneration);
 * V8 itself then shrinks the new space and uncommits the from-space. It never starts under load (the
 * loop is not quiet then) and stops when load comes back between its GCs (then it starts again at the
 * next quiet stretch); otherwise once per busy period at most: if this V8 does not shrink, it does not
 * retry until the loop was busy again. The quiet stretch is cli/quiet-detector.ts.
 *
 * Old space and native memory too: the same quiet moment first runs a full GC when the old generation
 * grew since the last one, and a compacting one when that leaves it sparse (cli/old-space-release.ts);
 * then, once the GCs have freed what they free, it frees caches that refill on demand (the readings
 * store's page cache) and gives malloc's free pages back to the OS (cli/malloc-trim.ts): the memory
 * that glibc's malloc kept after a burst (socket buffers, Buffers, SQLite pages).
 * The step itself is createQuietRelease (fed one event-loop sample at a time, so tests drive it
 * without timers); startYoungGenerationRelease samples the loop and feeds it.
 */

/**
 * V8's GCTracer keeps the allocation of the last ten GC-to-GC intervals (bytes and duration) and
 * decides on their average. The interval that ends the burst holds up to a whole semi-space of
 * allocation, so ten more intervals have to push it out, and the ones that replace it must be slow
 * enough to average under V8's 1,000 bytes/ms: back-to-back GCs are not (measured: a few KiB each
 * in well under a millisecond), GCs SPACING_MS apart are. So: minor GCs SPACING_MS apart until V8
 * shrinks the new space, at most MAX_GCS (the ten, and spare ones). 11–14 were needed in the first
 * trials, but 16 were not always enough: in the real-V8 test V8 had shrunk it at the 14th GC or not
 * by the 16th, half the time (and at start-up the release gave up after 16; task R, bench/RESULTS.md).
 * 24 leaves room; each is a scavenge of a near-empty new space, ~1 ms.
 */
const SPACING_MS = 25;
/** How long the release's line waits for the store workers' heap figures (an idle one answers in ~1 ms). */
export const WORKER_HEAP_TIMEOUT_MS = 100;
const MAX_GCS = 24;
/** Share of a wait between two of its GCs that other work may take before the release stops. */
const BUSY_AGAIN = 0.25;

export interface ReleaseResult {
  beforeBytes: number;
  afterBytes: number;
  gcs: number;
  /** time spent in the GCs */
  ms: number;
  /** stopped because other work came back (see releaseYoungGeneration) */
  aborted?: boolean;
}

/** Milliseconds the event loop was active since the previous call (called after each own GC). */
export function loopActiveMs(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const { active } = performance.eventLoopUtilization(now, last);
    last = now;
    return active;
  };
}

/** Committed (physical) bytes of V8's new space. */
export function newSpaceBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.physical_space_size ?? 0;
}

/**
 * The sequence above; stops as soon as V8 has shrunk the new space to below half of what it was,
 * or once other work takes more than BUSY_AGAIN of a wait between two GCs: the ~1 s of quiet that
 * started it can be the gap before the next burst, and a scavenge forced every 25 ms under load
 * promotes what is in flight and shrinks the new space the burst is growing (bench:connect: 16
 * forced scavenges inside one 2,000-client storm, whose CPU per connect doubled).
 */
export async function releaseYoungGeneration(
  gc: NodeGc,
  measure: () => number = newSpaceBytes,
  spacingMs = SPACING_MS,
  activeMs: () => number = loopActiveMs(),
): Promise<ReleaseResult> {
  const beforeBytes = measure();
  let afterBytes = beforeBytes;
  let gcs = 0;
  let ms = 0;
  while (gcs < MAX_GCS && afterBytes > beforeBytes / 2) {
    if (gcs > 0) {
      await new Promise((r) => setTimeout(r, spacingMs));
      if (activeMs() > spacingMs * BUSY_AGAIN) return { beforeBytes, afterBytes, gcs, ms, aborted: true };
    }
    const t = performance.now();
    gc({ type: 'minor' });
    ms += performance.now() - t;
    gcs++;
    afterBytes = measure();
    activeMs(); // the next window starts after this GC
  }
  return { beforeBytes, afterBytes, gcs, ms };
}

/** What the quiet-time release reads of the process's memory (tests inject their own). */
export interface MemoryGauges {
  newSpace(): number;
  /** used bytes of the old space and the large-object space */
  oldGenerationUsed(): number;
  oldSpaceFree(): number;
  rss(): number;
}

export const PROCESS_GAUGES: MemoryGauges = {
  newSpace: newSpaceBytes,
  oldGenerationUsed: oldGenerationUsedBytes,
  oldSpaceFree: oldSpaceFreeBytes,
  rss: () => process.memoryUsage.rss(),
};

export interface QuietReleaseOptions {
  /** node's gc (--expose-gc) */
  gc: NodeGc;
  logger: Logger;
  /** frees caches that refill on demand (the readings store's page cache), before the trim */
  releaseCaches?: (() => void) | undefined;
  /** glibc's malloc_trim where it can be reached (cli/malloc-trim.ts); undefined: no trim */
  mallocTrim?: MallocTrim | undefined;
  /** the store's worker threads' committed heaps, for the release's line (ReadingStore.workerHeaps) */
  workerHeaps?: WorkerHeapsProbe | undefined;
  gauges?: MemoryGauges;
  /** the young generation's release; default releaseYoungGeneration (minor GCs SPACING_MS apart) */
  releaseYoung?: (gc: NodeGc) => Promise<ReleaseResult>;
  /** consecutive quiet samples before a release; default DEFAULT_QUIET's */
  quietSamples?: number;
}

/**
 * The quiet-time release as a step: fed one event-loop utilisation sample at a time, it returns the
 * release's promise when that sample started one (undefined otherwise). No timer of its own.
 */
export function createQuietRelease(o: QuietReleaseOptions): (utilization: number) => Promise<void> | undefined {
  const { gc, logger } = o;
  const gauges = o.gauges ?? PROCESS_GAUGES;
  const releaseYoung = o.releaseYoung ?? ((g: NodeGc) => releaseYoungGeneration(g, gauges.newSpace));
  const decide = createQuietDetector({ ...DEFAULT_QUIET, quietSamples: o.quietSamples ?? DEFAULT_QUIET.quietSamples });
  let releasing = false;
  // the lowest old-generation used bytes seen since the last full GC (start-up's garbage counts as
  // growth once). Lowered at every sample, busy ones too: V8's own major GCs during a flood collect
  // the early backlog, and only what was promoted after the last of them is left at rest; measured
  // from a baseline they left stale, that could stay under the threshold with ~35 MiB dead.
  let oldAfterFullGc = gauges.oldGenerationUsed();
  // RSS right after the last release (start-up's growth counts once)
  let rssAfterRelease = gauges.rss();
  const ms = (t: number) => Math.round((performance.now() - t) * 10) / 10;
  return (utilization) => {
    const oldUsed = gauges.oldGenerationUsed();
    oldAfterFullGc = Math.min(oldAfterFullGc, oldUsed);
    // the other gauges only when they could matter: a busy sample decides nothing
    const quiet = utilization < DEFAULT_QUIET.busyUtilization;
    const grown = quiet ? [gauges.newSpace(), oldUsed - oldAfterFullGc, gauges.rss() - rssAfterRelease] : [0, 0, 0];
    if (releasing || !decide(utilization, grown[0]!, grown[1], grown[2])) return undefined;
    releasing = true;
    const oldBefore = oldUsed;
    let full = {};
    // or an old space left sparse with nothing grown: V8's own major GCs in a flood's tail can collect
    // the backlog and leave its pages committed (bench:qos0-storm, round 9: 78 MiB committed, no full GC
    // run, 1.60x start), which only a compaction hands back
    if (oldBefore - oldAfterFullGc > DEFAULT_QUIET.oldGrownBytes || gauges.oldSpaceFree() > OLD_FRAGMENTED_BYTES) {
      const t = performance.now();
      gc();
      const fullGcMs = ms(t);
      let compactMs: number | undefined;
      if (gauges.oldSpaceFree() > OLD_FRAGMENTED_BYTES) {
        const t2 = performance.now();
        compactingGc(gc);
        compactMs = ms(t2);
      }
      oldAfterFullGc = gauges.oldGenerationUsed();
      full = { oldGenerationMiB: [oldBefore / 2 ** 20, oldAfterFullGc / 2 ** 20], fullGcMs, compactMs };
    }
    const young = gauges.newSpace() > DEFAULT_QUIET.grownBytes ? releaseYoung(gc) : Promise.resolve(undefined);
    return young
      .then(async (r) => {
        if (r?.aborted) {
          // load is back: freeing caches and trimming now would cost it; retry after the next quiet stretch
          decide.rearm();
          logger.debug(
            { newSpaceMiB: [r.beforeBytes / 2 ** 20, r.afterBytes / 2 ** 20], gcs: r.gcs, ...full },
            'heap release stopped: busy again',
          );
          return;
        }
        const t = performance.now();
        try {
          o.releaseCaches?.();
        } catch (err) {
          logger.warn({ err }, 'cache release at quiet time failed');
        }
        // last: the GCs above have freed the burst's Buffers (their backing stores are malloc'd)
        o.mallocTrim?.();
        rssAfterRelease = gauges.rss();
        const newSpace = r
          ? {
              newSpaceMiB: [r.beforeBytes / 2 ** 20, r.afterBytes / 2 ** 20],
              gcs: r.gcs,
              ms: Math.round(r.ms * 10) / 10,
            }
          : {};
        const after = memoryAtRest();
        // after the release's own work: the answers only delay its line, by WORKER_HEAP_TIMEOUT_MS at most
        const workers = await o.workerHeaps?.(WORKER_HEAP_TIMEOUT_MS).catch(() => undefined);
        logger.debug(
          { ...newSpace, ...full, nativeMs: ms(t), after, ...(workers ? { workers } : {}) },
          RELEASE_LOG_MESSAGE,
        );
      })
      .catch((err) => logger.warn({ err }, 'quiet-time release failed'))
      .finally(() => {
        releasing = false;
      });
  };
}

/** The store's worker threads' committed heaps (MiB) by worker, those that answer within `timeoutMs`. */
export type WorkerHeapsProbe = (timeoutMs: number) => Promise<Record<string, unknown>>;

export interface YoungGenerationRelease {
  stop(): void;
}

export interface YoungGenerationReleaseOptions {
  /** node's gc; default: the global one that --expose-gc installs (undefined: the release is off) */
  gc?: NodeGc | undefined;
  /** event-loop sampling period (ms) */
  sampleMs?: number;
  /** how long the loop must stay quiet after being busy before a release (ms); default DEFAULT_RELEASE_QUIET_MS */
  quietMs?: number;
  /** frees caches that refill on demand (the readings store's page cache), before the trim */
  releaseCaches?: () => void;
  /** the store's worker threads' committed heaps, for the release's line */
  workerHeaps?: WorkerHeapsProbe;
  /** default: glibc's malloc_trim where it can be reached (cli/malloc-trim.ts) */
  mallocTrim?: MallocTrim | undefined;
}

/**
 * Samples the event loop every `sampleMs` (an unref'd timer) and feeds createQuietRelease. Needs
 * node's `gc` (started with --expose-gc, as bin/dakkio.mjs and npm start do); without it this does
 * nothing.
 */
export function startYoungGenerationRelease(
  logger: Logger,
  o: YoungGenerationReleaseOptions = {},
): YoungGenerationRelease {
  const gc = 'gc' in o ? o.gc : (globalThis as { gc?: NodeGc }).gc;
  if (typeof gc !== 'function') {
    logger.debug({}, 'young-generation release off: node runs without --expose-gc');
    return { stop() {} };
  }
  const mallocTrim = 'mallocTrim' in o ? o.mallocTrim : createMallocTrim();
  const sampleMs = o.sampleMs ?? 250;
  const quietSamples = quietSamplesFor(o.quietMs ?? DEFAULT_RELEASE_QUIET_MS, sampleMs);
  const sample = createQuietRelease({ ...o, gc, logger, mallocTrim, quietSamples });
  let last = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, last);
    last = now;
    sample(utilization);
  }, sampleMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
