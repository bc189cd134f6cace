/**
 * A store worker's committed V8 heap, asked for by the main thread.
 *
 * Why: after some QoS 0 floods RSS at rest held ~15 MiB of V8-page-sized memory outside the main
 * isolate's heap (bench/RESULTS.md, "QoS 0 storm"); the stores' worker threads (the stats reader, the WAL
 * checkpointer) have isolates of their own, which no main-thread figure sees, and Node 20 has no
 * worker.getHeapStatistics() (it came in 22.16). So every store worker answers on a MessagePort of its
 * own (not parentPort: the workers' own protocols treat any message there as work) with its
 * v8.getHeapSpaceStatistics(), and the quiet-time release logs the answers.
 *
 * A worker answers between two of its tasks: one that is busy (a whole-bucket scan) or gone answers
 * late or never, so the ask has a short timeout and a late answer is dropped: that worker has no figure.
 */
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import type { WorkerHeapFigures } from '../ports/reading-store.ts';

export type WorkerHeap = WorkerHeapFigures;

const MiB = 2 ** 20;

/** The key of workerData that carries the worker's end of the heap port. */
export const HEAP_PORT_KEY = 'dakkioHeapPort';

/**
 * Run in the worker before its own source (CommonJS). The port is unref'd: it must not keep an
 * otherwise finished worker alive.
 */
export const WORKER_HEAP_ANSWER = `{
  const { workerData: __wd } = require('node:worker_threads');
  const __port = __wd && __wd.${HEAP_PORT_KEY};
  if (__port) {
    const __v8 = require('node:v8');
    __port.on('message', (id) => {
      // node's gc exists in a worker when the process runs with --expose-gc (V8 flags are process-wide)
      if (id === 'gc') { if (typeof gc === 'function') gc(); return; }
      const s = {};
      let heap = 0;
      for (const x of __v8.getHeapSpaceStatistics()) { heap += x.physical_space_size; s[x.space_name] = x.physical_space_size; }
      __port.postMessage({ id, heap, new: s.new_space || 0, old: s.old_space || 0, large: s.large_object_space || 0 });
    });
    __port.unref();
  }
}
`;

const ports = new WeakMap<Worker, MessagePort>();

/** A channel for a worker about to be spawned: its end goes into workerData (and the transfer list). */
export function heapChannel(): { mine: MessagePort; theirs: MessagePort } {
  const { port1, port2 } = new MessageChannel();
  port1.unref();
  return { mine: port1, theirs: port2 };
}

/** Keeps the main thread's end of a spawned worker's heap port (closed when the worker exits). */
export function attachHeapPort(worker: Worker, port: MessagePort): void {
  ports.set(worker, port);
  worker.once('exit', () => port.close());
}

/**
 * Asks the worker to run a full GC between its tasks (no answer; a heap asked for after it is read
 * after it). Why: a store worker that has gone idle runs no GC, and a stats call made while a flood's
 * backlog was still staged left ~40 MiB of its dead rows committed in the stats reader's heap
 * (bench/RESULTS.md, task W); the main thread's quiet-time release does not reach a worker's isolate.
 */
export function askWorkerGc(worker: Worker | null): void {
  const port = worker && ports.get(worker);
  try {
    port?.postMessage('gc');
  } catch {
    // a worker that is gone has nothing to collect
  }
}

let nextId = 1;
const round = (bytes: number) => Math.round((bytes / MiB) * 10) / 10;

/** The worker's committed heap, or undefined: no heap port, busy past `timeoutMs`, or gone. */
export function askWorkerHeap(worker: Worker | null, timeoutMs: number): Promise<WorkerHeap | undefined> {
  const port = worker && ports.get(worker);
  if (!port) return Promise.resolve(undefined);
  const id = nextId++;
  return new Promise((resolve) => {
    const done = (heap: WorkerHeap | undefined) => {
      clearTimeout(timer);
      port.off('message', onMessage);
      resolve(heap);
    };
    const onMessage = (m: { id: number; heap: number; new: number; old: number; large: number }) => {
      if (m.id !== id) return; // a late answer to an earlier ask
      done({ heapMiB: round(m.heap), newMiB: round(m.new), oldMiB: round(m.old), largeMiB: round(m.large) });
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    timer.unref();
    port.on('message', onMessage);
    port.unref(); // on() refs a port; the ask must not keep the process alive
    try {
      port.postMessage(id);
    } catch {
      done(undefined);
    }
  });
}
