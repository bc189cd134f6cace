import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * The old-space half of the quiet-time release (cli/young-generation-release.ts).
 *
 * Why: after a flood (bench:qos0-storm) the old generation holds 100+ MiB of what the backlog
 * promoted, nearly all of it dead, and an idle process runs no major GC: V8's memory reducer got to
 * it only ~90 s after the drain. So the quiet moment runs one full GC when the old generation's used
 * bytes grew by OLD_GROWN_BYTES since the lowest seen since the last one (~10 ms for a ~35 MiB live
 * set). "Old generation" counts the large-object space with the old space: arrays and strings over
 * ~128 KiB (a flood's big batches) live there, not in the old space. After a 20 s flood 17 MiB of
 * dead large objects and ~20 MiB of dead old space were left at rest when the trigger counted the
 * old space alone, from a baseline V8's own major GCs under load had left stale, against 32 MiB
 * (bench/RESULTS.md, "QoS 0 storm, cycle to cycle"). That GC frees the dead
 * objects but leaves the pages committed wherever a few survivors sit on them (after a 20 s flood:
 * 86 MiB committed for 30 MiB live), and V8 compacts only a few pages per GC: when more than
 * OLD_FRAGMENTED_BYTES are committed but free after it, one compacting GC follows (compactingGc).
 */

/** Growth of the old generation's used bytes (live and dead) since the last full GC that makes a quiet moment run one. */
export const OLD_GROWN_BYTES = 16 * 2 ** 20;
/**
 * Committed but free bytes of the old space, after the full GC, that make it compact. 16 MiB, not V8's
 * own 32: after a 60 s flood the full GC leaves 19-26 MiB of the old space committed and free (47-50 MiB
 * committed for ~25 live) in most cycles, which is most of what keeps RSS at rest over 1.2x its start
 * once the store workers' heaps are released (bench/RESULTS.md, round 9). A compaction of ~25 MiB live
 * costs ~130 ms, at a quiet moment.
 */
export const OLD_FRAGMENTED_BYTES = 16 * 2 ** 20;

/**
 * node's gc (--expose-gc): `{ type: 'minor' }` scavenges; no argument runs a full, synchronous GC.
 * Nothing else: Node 20's V8 (11.3) reads only `type: 'minor'` and `execution: 'async'` from an
 * options object and runs a scavenge for any other, `{ type: 'major', execution: 'sync', flavor:
 * 'last-resort' }` included (--trace-gc: "Scavenge ... testing"; bench/RESULTS.md, task G).
 */
export type NodeGc = (options?: { type: 'minor' }) => void;

/** Used (live and not yet collected) bytes of V8's old generation: the old space and the large-object space. */
export function oldGenerationUsedBytes(): number {
  let used = 0;
  for (const s of getHeapSpaceStatistics()) {
    if (s.space_name === 'old_space' || s.space_name === 'large_object_space') used += s.space_used_size;
  }
  return used;
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
