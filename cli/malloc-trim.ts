import Database from 'better-sqlite3';

/**
 * glibc's malloc_trim(3), for the quiet-time heap release (cli/young-generation-release.ts).
 *
 * Why: after a QoS 0 flood, glibc's malloc keeps the memory the flood freed (socket read
 * buffers, Buffers' backing stores, SQLite pages): free chunks scattered through its arenas
 * that free() never hands back, because only the top of an arena is trimmed and the flood's
 * survivors sit above them. Measured at rest after a 20 s flood (bench/RESULTS.md, "QoS 0
 * storm at rest: where the memory is"): main arena 94 MiB against 8 MiB at start, thread
 * arenas 49 against 17; malloc_trim(0) took RSS from 320 to 249 MiB. MALLOC_ARENA_MAX and a
 * fixed trim threshold only bound the arenas' count and trim their tops.
 *
 * Why no library: Node has no FFI, the npm FFI addons (ffi-napi and its forks) are native builds
 * of their own for one libc call, and dakkio has no native addon of its own. How: better-sqlite3,
 * already a dependency, exposes SQLite's extension loader, which is dlopen + dlsym + one call. Loading glibc (`libc.so.6`,
 * already mapped, so no file is read) with `malloc_trim` as the entry point calls
 * malloc_trim(pad) with the connection's pointer in the first argument register (x86-64 and
 * AArch64 calling conventions; the other two arguments are ignored). A pad that large only
 * skips the trim of the main arena's top; what matters here is the rest of malloc_trim: every
 * arena's free pages are given back with madvise(MADV_DONTNEED) (glibc since 2.8). It returns 1
 * when it released memory, which SQLite reports as an "error during initialization": expected.
 * Where glibc is not the allocator (musl, macOS) libc.so.6 or the symbol is missing: off.
 * Safety: malloc_trim takes each arena's lock (safe beside libuv's and SQLite's threads), reads
 * only its one argument, and the connection is a private in-memory one opened per call: when
 * malloc_trim returns 0 SQLite counts libc as a loaded extension of that connection (its handle
 * list would grow by one per call on a kept connection); the close dlcloses it again, and libc,
 * mapped by the process itself, is never unmapped.
 */
export type MallocTrim = () => void;

/** The error SQLite raises when an entry point ran and returned non-zero (sqlite3_load_extension). */
const RAN = /^error during initialization/;

let shared: MallocTrim | undefined | null = null;

/** The process's trim function (malloc is process-wide), or undefined where glibc's malloc_trim cannot be reached. */
export function createMallocTrim(): MallocTrim | undefined {
  if (shared === null) shared = open();
  return shared;
}

function open(): MallocTrim | undefined {
  if (process.platform !== 'linux') return undefined;
  // true when malloc_trim ran (returned 0 or 1), false when it could not be reached
  const trim = (): boolean => {
    // a private in-memory connection: extension loading is never used on a store connection
    const db = new Database(':memory:');
    try {
      // better-sqlite3 takes the entry point as a second argument; its type declaration omits it
      (db as unknown as { loadExtension(file: string, entryPoint: string): void }).loadExtension(
        'libc.so.6',
        'malloc_trim',
      );
      return true; // returned 0: nothing to release
    } catch (err) {
      return RAN.test((err as Error).message);
    } finally {
      db.close();
    }
  };
  if (!trim()) return undefined;
  return () => {
    trim();
  };
}
