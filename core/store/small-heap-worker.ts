/**
 * Worker threads of the stores (the SQLite stats reader and WAL checkpointer) with a young
 * generation of their own size, not the process's.
 *
 * Why: dakkio runs with --max-semi-space-size=64 (bin/dakkio.mjs) for the main thread's QoS 1 hot
 * path. V8 flags are process-wide, so every worker isolate got the same 64 MiB semi-spaces, and no
 * quiet-time release reaches a worker's heap: after a QoS 0 flood one worker thread was seen holding
 * 58 MiB at rest (bench/RESULTS.md, task R; in task R3's runs the store workers were 5 MiB at rest and
 * the big one was tsx's loader thread, which bin/dakkio.mjs sizes the same way). These workers run a
 * query or a checkpoint at a time and need no big young generation.
 *
 * How: a Worker's `resourceLimits.maxYoungGenerationSizeMb` alone does not do it: V8 lets the
 * --max-semi-space-size flag override the isolate's constraints when it is set (Heap::ConfigureHeap,
 * V8 11.3; measured: a worker given 6 MiB still grew a 64 MiB new space under the flag, and 4 MiB
 * without it). So the flag is set to 0 ("not set") while the worker's isolate is created and put
 * back once it is online. V8 reads the flag only when it configures a new heap: the main isolate's
 * heap keeps its 64 MiB semi-spaces.
 */
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { attachHeapPort, HEAP_PORT_KEY, heapChannel, WORKER_HEAP_ANSWER } from './worker-heap.ts';

/** A store worker's young generation (MiB): V8 makes it three semi-spaces' worth, so 2 MiB ones. */
export const STORE_WORKER_YOUNG_GENERATION_MB = 6;

/** The --max-semi-space-size node was started with (0: none), to put back after a worker's isolate exists. */
function processSemiSpaceMb(): number {
  let mb = 0;
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const m = /^--max[-_]semi[-_]space[-_]size(?:=(\d+))?$/.exec(args[i]!);
    if (m) mb = Number(m[1] ?? args[i + 1]) || 0;
  }
  return mb;
}

let creating = 0;

/**
 * `new Worker(source, { eval: true, workerData })` with a small young generation (see the header), which
 * answers askWorkerHeap (core/store/worker-heap.ts) between its tasks.
 */
export function spawnSmallHeapWorker(source: string, workerData: Record<string, unknown>): Worker {
  setFlagsFromString('--max-semi-space-size=0');
  creating++;
  let settled = false;
  let w: Worker;
  const heap = heapChannel();
  try {
    w = new Worker(WORKER_HEAP_ANSWER + source, {
      eval: true,
      workerData: { ...workerData, [HEAP_PORT_KEY]: heap.theirs },
      transferList: [heap.theirs],
      resourceLimits: { maxYoungGenerationSizeMb: STORE_WORKER_YOUNG_GENERATION_MB },
    });
  } catch (err) {
    heap.mine.close();
    done();
    throw err;
  }
  attachHeapPort(w, heap.mine);
  function done(): void {
    if (settled) return;
    settled = true;
    // another worker may be between `new Worker` and its isolate: the flag stays 0 until the last is
    if (--creating === 0) setFlagsFromString(`--max-semi-space-size=${processSemiSpaceMb()}`);
  }
  w.once('online', done);
  w.once('error', done);
  w.once('exit', done);
  return w;
}
