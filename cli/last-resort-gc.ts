import type * as Inspector from 'node:inspector';
import { createRequire } from 'node:module';

/**
 * V8's last-resort GC, for the quiet-time release's last GC step (cli/young-generation-release.ts).
 *
 * Why: after a QoS 0 flood, the release's full GC and scavenges leave pages committed that a
 * memory-reducing GC gives back (bench/RESULTS.md, task G): V8 runs one only when it is short of
 * memory (LowMemoryNotification: full mark-compacts flagged "reduce memory footprint", which compact
 * every sparse page, shrink the new space to its minimum and uncommit the from-space, repeated
 * while they still free something, at least twice).
 *
 * Why not node's gc(): Node 20's V8 (11.3) reads only `type: 'minor'` and `execution: 'async'` from
 * gc()'s options object; any other object, `{ type: 'major', execution: 'sync', flavor: 'last-resort' }`
 * included, is taken as the legacy truthy argument and runs a scavenge (checked with --trace-gc:
 * "Scavenge ... testing", 0.2 ms; node 20.20's binary has no "last-resort" string at all). The flavor
 * option arrived in later V8s. What reaches LowMemoryNotification in Node 20 is the inspector
 * protocol's HeapProfiler.collectGarbage, through an in-process session (no port, no debugger: no
 * domain is enabled); --trace-gc shows "Mark-Compact (reduce) ... low memory notification" twice.
 *
 * Cost: two or more full GCs of the whole heap: ~60 ms for a ~35 MiB old space (measured here, a
 * 2-core VM), against ~20 ms for one plain full GC; so only at the quiet moment, as the release's
 * other GCs. The GCs run in a task V8 posts: the step resolves once they are done.
 */
export type LastResortGc = () => Promise<void>;

/** The last-resort GC, or undefined where node was built without the inspector. */
export function createLastResortGc(): LastResortGc | undefined {
  // loaded only here: node:inspector throws at import in a node built without it
  if (!process.features.inspector) return undefined;
  const { Session } = createRequire(import.meta.url)('node:inspector') as typeof Inspector;
  return () =>
    new Promise<void>((resolve, reject) => {
      const session = new Session();
      session.connect();
      session.post('HeapProfiler.collectGarbage', (err) => {
        // not from inside the session's own callback: Node 20 deadlocks there (the event loop stops)
        setImmediate(() => session.disconnect());
        if (err) reject(err);
        else resolve();
      });
    });
}
