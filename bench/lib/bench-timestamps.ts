/** The timestamps the load generator writes into its PUBLISH payloads (bench/lib/mqtt-load.ts). */

/**
 * How PUBLISHes are stamped. `backfill` (default, as every figure in bench/RESULTS.md up to
 * 2026-11-28 12:00): a counter per topic from 30 days ago, +1 ms per message, so the series
 * drift apart and most of a store's commits reach back behind its newest row (QuestDB merges
 * out of order). `now`: wall-clock time, strictly rising per topic, as live devices stamp
 * readings (the store appends). Same-session A/B (RESULTS "bench timestamps"): QuestDB's
 * ingest was no faster with `now`, so out-of-order merging is not what holds it back.
 */
export type TimestampMode = 'now' | 'backfill';
let timestampMode: TimestampMode = 'backfill';
export function useTimestamps(mode: TimestampMode): void {
  timestampMode = mode;
}

const T_BASE = Date.now() - 30 * 86_400_000;
/** last timestamp per topic, across runs: strictly rising, so no reading ever overwrites another */
const lastTs = new Map<string, number>();

/** The next timestamp for a PUBLISH on `topic`. */
export function nextTimestamp(topic: string): number {
  const last = lastTs.get(topic) ?? T_BASE - 1;
  const ts = timestampMode === 'now' ? Math.max(Date.now(), last + 1) : last + 1;
  lastTs.set(topic, ts);
  return ts;
}
