import type { Clock } from '../clock.ts';
import type { ReadingPoint } from '../readings.ts';

/**
 * Readings committed per second over the last minute, per bucket, for the analytics
 * overview. A ring of 60 one-second slots per bucket: O(1) per committed batch and
 * bounded memory, instead of remembering every point's time.
 */
export interface IngestRateMeter {
  record(points: readonly ReadingPoint[]): void;
  /** Mean readings/s over the last 60 s, summed over the given buckets. */
  perSecond(bucketIds: readonly string[]): number;
}

const SLOTS = 60;

export function createIngestRateMeter({ clock }: { clock: Clock }): IngestRateMeter {
  const rings = new Map<string, { counts: Float64Array; seconds: Float64Array }>();
  const ring = (bucketId: string) => {
    let r = rings.get(bucketId);
    if (!r) {
      r = { counts: new Float64Array(SLOTS), seconds: new Float64Array(SLOTS).fill(-1) };
      rings.set(bucketId, r);
    }
    return r;
  };
  return {
    record(points) {
      const second = Math.floor(clock.now() / 1000);
      const slot = second % SLOTS;
      let last: string | undefined;
      let r: ReturnType<typeof ring> | undefined;
      for (const p of points) {
        if (p.bucketId !== last) {
          last = p.bucketId;
          r = ring(p.bucketId);
          if (r.seconds[slot] !== second) {
            r.seconds[slot] = second;
            r.counts[slot] = 0;
          }
        }
        r!.counts[slot]! += 1;
      }
    },
    perSecond(bucketIds) {
      const now = Math.floor(clock.now() / 1000);
      let total = 0;
      for (const id of bucketIds) {
        const r = rings.get(id);
        if (!r) continue;
        for (let i = 0; i < SLOTS; i++) if (r.seconds[i]! > now - SLOTS) total += r.counts[i]!;
      }
      return Math.round((total / SLOTS) * 100) / 100;
    },
  };
}
