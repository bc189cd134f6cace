/**
 * Backpressure on publishers: while too many PUBLISHes wait for their outcome (the
 * ingest commit), no authenticated client's socket is read, so the excess waits
 * in the kernel's TCP buffers and the publisher's own send buffer instead of the
 * broker's heap (issue 7, item 6).
 *
 * Why Aedes' own gating is not enough: Aedes 1.2.0 reads a client's socket again
 * only when every packet of the previous chunk is done (lib/client.js nextBatch,
 * `_parsingBatch`), but the same nextBatch is also the socket's 'readable' listener,
 * so every 'readable' event that fires while a chunk is pending counts as one
 * finished packet. Under a sustained flood each read cycle lets one more packet's
 * worth of slack through and the in-flight backlog creeps up to whatever the ingest
 * pipeline refuses (its 2 M pending points, over 1 GiB of heap: bench/RESULTS.md).
 *
 * How: the client's `conn.read` answers null while over the limit (Aedes then
 * parses nothing and waits for the next 'readable'; the stream buffer fills to its
 * highWaterMark and Node stops reading the fd). Once the backlog is down to the low
 * mark, each paused client is nudged through Aedes' own `_nextBatch` when it has
 * nothing pending. Private API (`_parsingBatch`, `_nextBatch`), checked at attach
 * time so it degrades to a no-op if the shape changes.
 */
export const DEFAULT_MAX_IN_FLIGHT = 5_000;

interface ClientLike {
  conn?: { read?: (size?: number) => unknown; destroyed?: boolean };
  _parsingBatch?: number;
  _nextBatch?: () => void;
}

export interface ReadThrottleOptions {
  /** Publishes waiting for their outcome right now (the broker's ack queue size). */
  inFlight(): number;
  /**
   * Whether this client may be held back (default: every client). dakkio holds only
   * authenticated sessions, so a CONNECT still gets its CONNACK under load (each such
   * client adds one read at most: Aedes queues at most 42 packets before CONNACK).
   */
  mayHold?(client: unknown): boolean;
  /** Stop reading at this many (default 5,000). */
  high?: number;
  /** Read again at this many (default high / 2). */
  low?: number;
  /** Called each time a client is paused (for a counter). */
  onPause?(): void;
}

export interface ReadThrottle {
  /** Wraps one client's socket reads; call right after `aedes.handle()`. */
  attach(client: unknown): boolean;
  /** Call whenever a publish got its outcome: resumes paused clients once below the low mark. */
  released(): void;
  /** Clients not being read right now. */
  readonly paused: number;
  /** Resumes everyone (broker closing). Idempotent. */
  close(): void;
}

export function createReadThrottle(options: ReadThrottleOptions): ReadThrottle {
  const high = options.high ?? DEFAULT_MAX_IN_FLIGHT;
  const low = options.low ?? Math.floor(high / 2);
  const paused = new Set<ClientLike>();
  let closed = false;
  let resuming = false;

  function resumeAll() {
    resuming = false;
    const clients = [...paused];
    paused.clear();
    for (const c of clients) {
      if (c.conn?.destroyed) continue;
      // only when Aedes waits for nothing else: otherwise its next finished packet reads
      if (c._parsingBatch === 0) c._nextBatch?.();
    }
  }

  return {
    attach(client) {
      const c = client as ClientLike;
      const conn = c.conn;
      if (!conn || typeof conn.read !== 'function' || typeof c._nextBatch !== 'function' || typeof c._parsingBatch !== 'number') {
        return false;
      }
      const read = conn.read;
      // anonymous on purpose: tsx keeps a named function expression's name with a `__name` call
      // (an Object.defineProperty) per closure, i.e. per CONNECT
      conn.read = function (this: unknown, size?: number) {
        if (!closed && options.inFlight() >= high && (options.mayHold?.(c) ?? true)) {
          if (!paused.has(c)) {
            paused.add(c);
            options.onPause?.();
          }
          return null;
        }
        return read.call(this, size);
      };
      return true;
    },
    released() {
      if (paused.size === 0 || resuming || options.inFlight() > low) return;
      resuming = true;
      // outside the ack callback: resuming parses and dispatches new packets
      setImmediate(resumeAll);
    },
    get paused() {
      return paused.size;
    },
    close() {
      if (closed) return;
      closed = true;
      resumeAll();
    },
  };
}
