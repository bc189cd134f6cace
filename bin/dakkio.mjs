#!/usr/bin/env -S MALLOC_TRIM_THRESHOLD_=131072 node --max-semi-space-size=64 --expose-gc
// dakkio is written in TypeScript and run through tsx's loader, so there is no
// build step between a checkout and `npm start`.
//
// --max-semi-space-size=64 (MiB; Node 20's default is 16): with thousands of QoS 1
// publishes waiting for their commit, each one's packet, payload and promise frames
// are alive at every scavenge. With the default young generation they survive two
// scavenges and are promoted, and garbage collection took ~30% of the broker's CPU;
// with 64 MiB most die young and MQTT ingest doubled per CPU-second (bench/RESULTS.md,
// "MQTT QoS 1 hot path, round 2"). V8 sizes the heap before any script runs, so the flag has to
// be on node's command line: this shebang (running bin/dakkio.mjs or the installed
// `dakkio` command) and `npm start` carry it (cli/node-flags.test.ts keeps the two
// equal); a plain `node bin/dakkio.mjs` does not, and says so at start-up.
//
// --expose-gc: the grown young generation stays committed once the process goes quiet
// (V8 shrinks it only at a GC that sees low allocation, and an idle process runs none).
// cli/young-generation-release.ts runs a few minor GCs ~1 s after a busy period ends so
// V8 gives it back; without the flag that release is off.
//
// MALLOC_TRIM_THRESHOLD_=131072 (glibc; ignored elsewhere): glibc's malloc gives the free top of
// an arena back to the OS once it passes the trim threshold, but it raises that threshold (up to
// 64 MiB) whenever a large mmap'd block is freed, and a QoS 0 flood frees many. malloc_trim, run at
// the quiet moment, releases the free chunks between survivors but never the free top of a thread
// arena, so the arenas of the process's other threads kept their tops resident and grew with each flood
// (6-8 MiB per 20 s cycle at rest; bench/RESULTS.md, "QoS 0 storm, cycle to cycle"). Fixed at
// glibc's initial 128 KiB, a free at the top of an arena hands it back at once. glibc reads it only
// at process start, so it is set here and in `npm start` (cli/node-flags.test.ts keeps them equal).
//
// tsx's loader runs its hooks in a worker thread that node starts at register(): an isolate of its
// own, which took the 64 MiB semi-spaces too (V8 flags are process-wide) and held 47 MiB, 22 MiB of
// it new space, when the QoS 0 storm bench reads dakkio's start RSS (12-13 MiB once V8 shrank it
// later; bench/RESULTS.md, task R3). It only compiles modules: its isolate is made with 2 MiB
// semi-spaces, the flag put back once register() has returned (node waits for the thread there).
// The stores' worker threads do the same (core/store/small-heap-worker.ts).
import { setFlagsFromString } from 'node:v8';
import { register } from 'tsx/esm/api';

const semiSpace = /--max[-_]semi[-_]space[-_]size[= ](\d+)/.exec(process.execArgv.join(' '))?.[1] ?? '0';
setFlagsFromString('--max-semi-space-size=2');
try {
  register();
} finally {
  setFlagsFromString(`--max-semi-space-size=${semiSpace}`);
}
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
