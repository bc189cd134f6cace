/**
 * The mqemitter Aedes routes every PUBLISH through, with its synchronous recursion
 * bounded (issue 7, item 6: `RangeError: Maximum call stack size exceeded` under a
 * QoS 0 flood with a slow subscriber).
 *
 * Where it recurses, in mqemitter 7.1.0 (node_modules/mqemitter/mqemitter.js):
 * once `concurrency` messages are in progress, emit() queues; each finished
 * message runs `released()`, which shifts the next queued message into `_do()`,
 * which hands it to fastparallel. A message nobody listens to (no match, e.g.
 * after the slow subscriber is gone, or dakkio's `$dakkio/ingested` sink) makes
 * fastparallel call `released()` again before `_do()` returns, so draining a
 * queue of N such messages nests N × several frames. Upstream: mcollina/mqemitter
 * PR #204; the guard below is the maintainer's suggestion there: count the
 * synchronous re-entries and defer with setImmediate only past a threshold, so
 * the fast path keeps running synchronously. Patched on the instance rather than
 * forked, because the rest of mqemitter is fine and upgrades should stay easy.
 */
import mqemitter from 'mqemitter';

/** Nested `_do` calls allowed before the next one waits a turn; each nests ~10 frames. */
export const DEFAULT_MAX_SYNC_DEPTH = 256;

export interface SafeMqEmitterOptions {
  /** Messages routed at once before emit() queues (Aedes' default: 100). */
  concurrency?: number;
  maxSyncDepth?: number;
}

type Callback = (err?: Error) => void;
interface Internals {
  current: number;
  _do(message: mqemitter.Message, callback: Callback): unknown;
  readonly length: number;
}

export type SafeMqEmitter = mqemitter.MQEmitter & {
  /** Messages waiting for a routing slot: the emitter's own backlog. */
  readonly length: number;
};

/** Creates the emitter to pass to Aedes as `mq` (same semantics as Aedes' default one). */
export function createSafeMqEmitter(options: SafeMqEmitterOptions = {}): SafeMqEmitter {
  const mq = mqemitter({
    concurrency: options.concurrency ?? 100,
    // Aedes passes this for its own default emitter [MQTT-4.7.1-3]
    matchEmptyLevels: true,
  });
  guardRecursion(mq, options.maxSyncDepth ?? DEFAULT_MAX_SYNC_DEPTH);
  return mq as SafeMqEmitter;
}

/** Bounds the `_do` → `released` → `_do` recursion of an mqemitter instance. */
export function guardRecursion(mq: mqemitter.MQEmitter, maxSyncDepth: number): void {
  const inner = mq as unknown as Internals;
  const original = inner._do;
  let depth = 0;
  const run = (message: mqemitter.Message, callback: Callback) => {
    depth++;
    try {
      original.call(inner, message, callback);
    } finally {
      depth--;
    }
  };
  inner._do = function guardedDo(message, callback) {
    if (depth < maxSyncDepth) {
      run(message, callback);
      return this;
    }
    // the slot stays taken while waiting, so emit() keeps queueing behind it
    inner.current++;
    setImmediate(() => {
      inner.current--;
      run(message, callback);
    });
    return this;
  };
}
