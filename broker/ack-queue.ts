/**
 * PUBACKs leave in the order the PUBLISHes arrived [MQTT-4.6.0-2], while their
 * outcomes (a commit each) may settle in any order. One plain FIFO per session
 * instead of a promise chain per message: the chain's promises were a measurable
 * share of the broker's garbage collection (bench/RESULTS.md).
 */
export interface AckQueue<S, P, O> {
  /** Queues a publish; `answer` runs for it once it and every earlier one of its session have an outcome. */
  add(session: S, packet: P, work: Promise<O>, onError: (err: unknown) => O): void;
  /** Publishes still waiting for their answer. */
  readonly size: number;
  /** Resolves once nothing is waiting. */
  drained(): Promise<void>;
}

interface Pending<P, O> {
  packet: P;
  outcome: O | undefined;
}

export function createAckQueue<S extends object, P, O>(answer: (session: S, packet: P, outcome: O) => void): AckQueue<S, P, O> {
  const queues = new WeakMap<S, Pending<P, O>[]>();
  let size = 0;
  let waiters: (() => void)[] = [];

  function settle(session: S, queue: Pending<P, O>[], entry: Pending<P, O>, outcome: O): void {
    entry.outcome = outcome;
    while (queue.length > 0 && queue[0]!.outcome !== undefined) {
      const next = queue.shift()!;
      size--;
      answer(session, next.packet, next.outcome!);
    }
    if (size === 0 && waiters.length > 0) {
      const resolve = waiters;
      waiters = [];
      for (const r of resolve) r();
    }
  }

  return {
    add(session, packet, work, onError) {
      let queue = queues.get(session);
      if (!queue) {
        queue = [];
        queues.set(session, queue);
      }
      const q = queue;
      const entry: Pending<P, O> = { packet, outcome: undefined };
      q.push(entry);
      size++;
      work.then(
        (outcome) => settle(session, q, entry, outcome),
        (err: unknown) => settle(session, q, entry, onError(err)),
      );
    },
    get size() {
      return size;
    },
    drained() {
      return size === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}
