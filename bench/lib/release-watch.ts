/**
 * dakkio's quiet-time heap release, seen from its log: when it ran, so that an RSS reading "at rest"
 * comes after it instead of a fixed time after the bench's own idea of rest.
 *
 * Why: dakkio releases after its own event loop has been quiet for DEFAULT_RELEASE_QUIET_MS
 * (cli/quiet-detector.ts), and work of its own after a drain can restart that stretch; a reading a
 * fixed 24 s after the bench saw one quiet second came before the release once in five cycles (round 6:
 * 460 MiB = 4.07x start, back to 137 MiB a cycle later; bench/RESULTS.md). The release logs
 * RELEASE_LOG_MESSAGE at debug level (cli/young-generation-release.ts), so the bench starts dakkio with
 * DAKKIO_LOG_LEVEL=debug and waits for that line.
 */
import { RELEASE_LOG_MESSAGE } from '../../cli/young-generation-release.ts';
import type { ServerProcess } from './servers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ReleaseWatch {
  /** release lines seen so far */
  count(): number;
  /** performance.now() when the last one was seen (NaN: none yet) */
  lastAt(): number;
  /**
   * the last one's `after` (cli/memory-at-rest.ts: RSS, committed heap, external, native rest, MiB) and the
   * store workers' committed heaps that answered (`statsReaderHeapMiB`, `checkpointerHeapMiB`)
   */
  lastMemory(): Record<string, number> | undefined;
  /**
   * Waits until more than `seen` release lines have been logged, at most `timeoutMs`; then `afterMs`
   * more (the release's malloc_trim and cache release are done when it logs; the pause lets the
   * kernel's RSS accounting follow). Resolves true if the line came, false on the timeout (no pause).
   */
  waitBeyond(seen: number, timeoutMs: number, afterMs?: number): Promise<boolean>;
  stop(): void;
}

export function watchReleases(server: ServerProcess): ReleaseWatch {
  let seen = 0;
  let lastAt = Number.NaN;
  let lastMemory: Record<string, number> | undefined;
  let partial = '';
  const stop = server.onOutput((chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.includes(RELEASE_LOG_MESSAGE)) continue;
      seen++;
      lastAt = performance.now();
      // the release's own figures (its GCs' and trim's ms): QOS0_RELEASE_LINES=1 prints each line
      if (process.env.QOS0_RELEASE_LINES === '1') process.stderr.write(`release line: ${l}\n`);
      try {
        const line = JSON.parse(l.slice(l.indexOf('{')));
        // the store workers' committed heaps (core/store/worker-heap.ts) as `<worker>HeapMiB`
        const workers = Object.entries(line.workers ?? {}).map(([k, v]) => [
          `${k}HeapMiB`,
          (v as { heapMiB: number }).heapMiB,
        ]);
        lastMemory = line.after && { ...line.after, ...Object.fromEntries(workers) };
      } catch {
        lastMemory = undefined;
      }
    }
  });
  return {
    count: () => seen,
    lastAt: () => lastAt,
    lastMemory: () => lastMemory,
    async waitBeyond(before, timeoutMs, afterMs = 2000) {
      const deadline = performance.now() + timeoutMs;
      while (seen <= before) {
        if (performance.now() > deadline) return false;
        await sleep(100);
      }
      await sleep(afterMs);
      return true;
    },
    stop,
  };
}
