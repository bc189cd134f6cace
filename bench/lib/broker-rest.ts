/**
 * When a broker is at rest after bench:qos0-storm's mass disconnect, and its RSS then.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_RELEASE_QUIET_MS } from '../../cli/quiet-detector.ts';
import { cpuMeter, rssBytesOf } from './proc.ts';
import type { ReleaseWatch } from './release-watch.ts';
import { smapsClasses } from './smaps-classes.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 2 ** 20;

/**
 * How long after the first quiet second RSS is read for a broker without dakkio's release log (bare
 * Aedes): as long as dakkio's release would take to start, once its event loop has been quiet for
 * DEFAULT_RELEASE_QUIET_MS (20 s), and finish (~1.5 s). dakkio itself is read after its release line.
 */
export const SETTLE_MS = DEFAULT_RELEASE_QUIET_MS + 4000;

/** Reading after dakkio's release line rather than SETTLE_MS (bench/lib/release-watch.ts). */
export interface AfterRelease {
  watch: ReleaseWatch;
  /** watch.count() at the disconnect: only a release after it counts */
  seenAtDisconnect: number;
  /** longest wait for the line once the broker is at rest */
  timeoutMs: number;
}

export interface Rest {
  rss: number;
  /** the drain, from the disconnect to the first quiet second */
  seconds: number;
  /** dakkio: seconds from the disconnect to its release line; NaN when none came within the timeout */
  releaseSeconds?: number;
  /** where the memory was, at the reading */
  breakdown?: string;
}

/** Anonymous (and lazily freed) and file-backed RSS (/proc/<pid>/smaps_rollup), and dakkio's own split of it at its release. */
export function breakdownOf(pid: number, release?: Record<string, number>): string {
  let smaps = '';
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? Number.NaN);
    // LazyFree: pages given back with MADV_FREE that the kernel has not reclaimed yet (still in RSS)
    const lazy = kb('LazyFree') / 1024;
    smaps = `anon ${(kb('Anonymous') / 1024).toFixed(0)} (lazy-free ${lazy.toFixed(1)}; ${smapsClasses(pid)}), file ${((kb('Rss') - kb('Anonymous')) / 1024).toFixed(0)} MiB`;
  } catch {
    smaps = 'no smaps_rollup';
  }
  if (!release) return smaps;
  const r = release;
  const workers = Object.entries(r)
    .filter(([k]) => k.endsWith('HeapMiB'))
    .map(([k, v]) => `${k.replace(/HeapMiB$/, '')} ${v}`);
  const workerNote = workers.length > 0 ? `; workers' heaps ${workers.join(', ')}` : '';
  return `${smaps}; at the release: heap ${r.heapCommittedMiB} (new ${r.newSpaceMiB}, old ${r.oldSpaceMiB}, large ${r.large_objectSpaceMiB}), external ${r.externalMiB}, rest ${r.nativeRestMiB} of ${r.rssMiB} MiB${workerNote}`;
}

export function alive(pid: number): boolean {
  try {
    rssBytesOf(pid);
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits until the broker has finished what TCP still held when the clients went away:
 * under 0.02 cores of CPU over a whole second, waiting at most --max-drain seconds.
 * Returns the RSS then (dakkio: ~2 s after its quiet-time release line, which may come before that
 * quiet second or after it; other brokers: SETTLE_MS after it) and the drain's length counted from the
 * disconnect (the 5 s already waited included).
 *
 * No probe of the server while it drains: the stored-row count (bucket stats) scans
 * every row of the bucket, ~0.6 s per call on a 5 M-row bucket; polled once a second
 * (on dakkio's event loop then, in its stats worker on the same pinned core since) it
 * kept the broker busy for minutes after the backlog was stored, slowed the drain itself
 * ~2x, and never let dakkio see the quiet time its heap release waits for
 * (bench/RESULTS.md, "QoS 0 storm: the minutes-long drain and RSS at rest").
 */
export async function waitForRest(pid: number, maxDrainMs: number, release?: AfterRelease): Promise<Rest> {
  const t0 = performance.now();
  for (;;) {
    const meter = cpuMeter([{ name: 'server', pid: pid }]);
    // Low CPU alone can also mean a broker starved of its core or blocked on the disk (seen on a
    // loaded machine: 0.01 cores for a second with half the backlog still to store), so the main
    // thread must also never be seen runnable (R) or in uninterruptible I/O (D) during the second.
    let waiting = 0;
    for (let i = 0; i < 10; i++) {
      await sleep(100);
      if (/^R|^D/.test(mainThreadState(pid))) waiting++;
    }
    const cores = meter.stop().server!.cores;
    if (!alive(pid)) return { rss: Number.NaN, seconds: Number.NaN };
    if (process.env.QOS0_DEBUG) {
      const s = ((performance.now() - t0) / 1000 + 5).toFixed(0);
      process.stderr.write(
        `drain ${s} s: ${cores.toFixed(2)} cores, R/D ${waiting}/10, RSS ${(rssBytesOf(pid) / MiB).toFixed(0)} MiB\n`,
      );
    }
    if ((cores < 0.02 && waiting === 0) || performance.now() - t0 > maxDrainMs) {
      const seconds = (performance.now() - t0) / 1000 + 5;
      // dakkio releases its heap after a quiet stretch (cli/young-generation-release.ts): reading
      // RSS at the first quiet second raced that release (task H's traces: 463-593 MiB read
      // a moment before RSS fell to ~300), and so did a fixed SETTLE_MS more (round 6: once in five
      // cycles), so dakkio is read after its release line, whether it came before this second or after.
      if (!release) {
        await sleep(SETTLE_MS);
        return { rss: alive(pid) ? rssBytesOf(pid) : Number.NaN, seconds, breakdown: breakdownOf(pid) };
      }
      const came = await release.watch.waitBeyond(release.seenAtDisconnect, release.timeoutMs);
      const releaseSeconds = came ? (release.watch.lastAt() - t0) / 1000 + 5 : Number.NaN;
      const rss = alive(pid) ? rssBytesOf(pid) : Number.NaN;
      return {
        rss,
        seconds,
        releaseSeconds,
        breakdown: breakdownOf(pid, came ? release.watch.lastMemory() : undefined),
      };
    }
  }
}

/** State letter of a process's main thread (/proc/<pid>/stat, the field after the command). */
function mainThreadState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return '';
  }
}
