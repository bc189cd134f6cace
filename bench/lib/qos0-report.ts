/**
 * bench:qos0-storm's table and notes (bench/qos0-storm.ts runs the cycles): one row per target.
 */
import { SETTLE_MS } from './broker-rest.ts';
import { DEFAULT_RELEASE_QUIET_MS } from '../../cli/quiet-detector.ts';
import { RELEASE_LOG_MESSAGE } from '../../cli/young-generation-release.ts';
import { recordResults } from './results.ts';
import { fmt, summarize } from './stats.ts';

export interface Row {
  target: string;
  startMb: number;
  peaksMb: number[];
  /** 5 s after the mass disconnect (the broker may still be draining) */
  afterMb: number[];
  /** once the broker is at rest (waitForRest) */
  restMb: number[];
  restSeconds: number[];
  /** dakkio: seconds from the disconnect to its release line (NaN: none within the timeout) */
  releaseSeconds: number[];
  /** how the start was read */
  startNote: string;
  /** where the memory was at the start and each at-rest reading (bench/lib/broker-rest.ts breakdownOf) */
  memory: string[];
  sent: number[];
  stored?: number[];
  /** rows stored by the end of the flood, over its seconds */
  storedInFlood?: number[];
  serverCores: number[];
  genCores: number[];
  crashed: string;
  capHits: string[];
}

export interface Qos0Settings {
  cycles: number;
  durationMs: number;
  P: number;
  SERIES: number;
  slowSubscriber: boolean;
  rssCapMb: string;
  maxDrainMs: number;
  releaseTimeoutMs: number;
}

export function recordQos0Storm(rows: Row[], o: Qos0Settings): void {
  const { cycles, durationMs, P, SERIES, slowSubscriber, rssCapMb, maxDrainMs, releaseTimeoutMs } = o;
  recordResults({
    bench: 'bench:qos0-storm',
    method: `${cycles} cycles per target of ${durationMs / 1000} s: ${P} publishers writing QoS 0 PUBLISHes as fast as TCP back-pressure allows (${SERIES} series), ${slowSubscriber ? 'one subscriber to `<prefix>/+/data` that never reads' : 'no subscriber'}; then every client dropped at once (socket destroy) and 5 s of quiet. RSS from /proc/<pid>/status, sampled every 500 ms.`,
    tables: [
      {
        columns: [
          'target',
          'crashed',
          'RSS cap hit (flood stopped early)',
          'written msg/s',
          'stored rows/s (by the end of the drain)',
          'stored rows/s by the end of the flood',
          'RSS start MiB',
          'RSS peak MiB (max)',
          'RSS 5 s after the last cycle MiB (× start)',
          'RSS at rest after the last cycle MiB (× start)',
          'RSS at rest after each cycle MiB (× start)',
          'release line after the disconnect s (each cycle)',
          'start read',
          'drain after the disconnect s (max)',
          'server CPU (cores)',
          'generator CPU (cores)',
        ],
        rows: rows.map((r) => [
          r.target,
          r.crashed,
          r.capHits.length ? r.capHits.join(', ') : 'no',
          r.sent.length ? fmt(summarize(r.sent), 0) : 'n/a',
          r.stored?.length ? fmt(summarize(r.stored), 0) : '—',
          r.storedInFlood?.length ? fmt(summarize(r.storedInFlood), 0) : '—',
          r.startMb.toFixed(0),
          r.peaksMb.length ? Math.max(...r.peaksMb).toFixed(0) : 'n/a',
          r.afterMb.length ? `${r.afterMb.at(-1)!.toFixed(0)} (${(r.afterMb.at(-1)! / r.startMb).toFixed(2)}×)` : 'n/a',
          r.restMb.length ? `${r.restMb.at(-1)!.toFixed(0)} (${(r.restMb.at(-1)! / r.startMb).toFixed(2)}×)` : 'n/a',
          r.restMb.map((m) => `${m.toFixed(0)} (${(m / r.startMb).toFixed(2)}×)`).join(' / ') || 'n/a',
          r.target === 'bare Aedes'
            ? `— (read ${SETTLE_MS / 1000} s after rest)`
            : r.releaseSeconds.map((x) => (Number.isNaN(x) ? 'NONE (timeout)' : x.toFixed(0))).join(' / ') || 'n/a',
          r.startNote,
          r.restSeconds.length ? Math.max(...r.restSeconds).toFixed(0) : 'n/a',
          r.serverCores.length ? fmt(summarize(r.serverCores), 2) : 'n/a',
          r.genCores.length ? fmt(summarize(r.genCores), 2) : 'n/a',
        ]),
      },
    ],
    notes: [
      "\"Written\" counts what the generator's sockets handed to the kernel (QoS 0 has no acknowledgement; what was still queued in a socket's own write buffer at the disconnect, ~135 PUBLISHes per publisher, is discarded by the socket's destroy() and not counted, ±1 per publisher); for dakkio the stored rows say what was processed: by the end of the drain, and by the end of the flood (one count right after the disconnect), both over the flood's seconds. What the broker has not stored by the flood's end waits in TCP buffers (the publishers' send buffers and its own receive buffers, which Linux autotunes up to net.ipv4.tcp_rmem's maximum) and is stored during the drain.",
      `RSS cap: a flood is cut short when the broker's RSS passes ${rssCapMb} MiB (a backlog that is not bounded), to spare the shared machine.`,
      'Server pinned to core 0, generator to core 1 (taskset).',
      ...rows.map(
        (r) =>
          `Memory at each reading, ${r.target} (anon/file from /proc/<pid>/smaps_rollup, with the anonymous pages freed by MADV_FREE but not yet reclaimed, LazyFree; dakkio's split at its release from its log line, cli/memory-at-rest.ts: committed heap by space, external = Buffers' and ArrayBuffers' backing stores, rest = RSS less both; workers' heaps = the committed heaps of the store's worker threads that answered, core/store/worker-heap.ts, inside the rest): ${r.memory.join('; ')}.`,
      ),
      `"5 s after": RSS 5 s after the mass disconnect. TCP still delivers what the publishers' send buffers and the broker's receive buffers held when they closed (a graceful FIN follows the data), so the broker may still be processing it: that reading is RSS under load. "At rest": RSS once the broker used under 0.02 cores over a whole second with its main thread never seen runnable or in disk I/O (no request is sent to the broker while it drains), waiting at most ${maxDrainMs / 1000} s more after the 5 s reading; "drain" is how long it took to reach that first quiet second, counted from the disconnect. dakkio (started with DAKKIO_LOG_LEVEL=debug) is then read 2 s after its quiet-time heap release logs "${RELEASE_LOG_MESSAGE}" (it runs after ${DEFAULT_RELEASE_QUIET_MS / 1000} s of its own event loop under 5% utilisation; only a line after the disconnect counts, also one before the first quiet second), waiting at most ${releaseTimeoutMs / 1000} s: a cycle whose line never came says NONE (timeout) and was read at the timeout; bare Aedes, which has no such release, is read ${SETTLE_MS / 1000} s after its first quiet second. "Start" is read the same way after the set-up's last request (dakkio: 2 s after the release that the set-up arms; "start read" says if it came).`,
    ],
  });
}
