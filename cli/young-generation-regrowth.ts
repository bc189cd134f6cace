import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import type { Logger } from '../core/logger.ts';
import { DEFAULT_QUIET } from './quiet-detector.ts';
import { newSpaceBytes } from './young-generation-release.ts';

/**
 * One-step regrowth of a released young generation when load comes back.
 *
 * Why: the quiet-time release (cli/young-generation-release.ts) leaves V8's new space at its 1 MiB
 * minimum so an idle broker does not keep 128 MiB of semi-spaces. When a burst follows, V8 doubles
 * the semi-space back one scavenge at a time (V8's semi_space_growth_factor is 2): 17–18 scavenges
 * in the burst's first 0.8 s at half the max rate, each promoting what is in flight, then a
 * mark-compact — 98% of the PUBACKs over 50 ms in the half-rate runs that followed a release
 * (bench/RESULTS.md, "PUBACK p99 at half rate, round 5"). Setting the growth factor for the whole
 * process regrew it in one step but defeated the release: the release's own scavenges then grew the
 * just-shrunk new space ×64 straight back (same section). A floor (--min-semi-space-size) cost
 * 60–100 MiB at rest.
 *
 * What: V8 reads the flag at each growth decision, so it is switched on only in the window where it
 * helps — the new space is small (released, or at start-up) and scavenges that nobody forced follow
 * each other within BURST_MS (an allocation rate of ≥ ~20 MB/s into a 1 MiB semi-space, i.e. load,
 * not an idle trickle) — and back to V8's default as soon as a GC shows the new space grown, at any
 * forced GC (the release's own), or HOLD_MS after it was switched on, whichever comes first.
 */

/** The growth factor while the switch is on: 1 MiB × 64 is the 64 MiB maximum of bin/dakkio.mjs. */
export const REGROWTH_FACTOR = 64;
/** V8's default --semi-space-growth-factor (V8 11.3, Node 20); there is no API to read a flag back. */
export const DEFAULT_GROWTH_FACTOR = 2;
/** Two unforced scavenges this close together in a small new space mean load is back. */
export const BURST_MS = 50;
/** Longest the switch stays on when no GC says the new space grew. */
export const HOLD_MS = 2_000;

export const growthFactorFlag = (factor: number) => `--semi-space-growth-factor=${factor}`;

/** What the switch reads of one GC (node's 'gc' performance entry). */
export interface GcSample {
  minor: boolean;
  forced: boolean;
  /** start time (ms, performance clock) */
  startMs: number;
}

export interface RegrowthSwitchOptions {
  setFlags: (flags: string) => void;
  /** committed bytes of the new space; default the release's own gauge */
  newSpace?: () => number;
  /** new space at or below this counts as released (default: the release's own "grown" threshold) */
  smallBytes?: number;
  burstMs?: number;
  /** called with true when the switch turns on, false when it turns off */
  onChange?: (on: boolean) => void;
}

export interface RegrowthSwitch {
  /** feeds one GC, in the order they ran */
  onGc(sample: GcSample): void;
  /** back to V8's default (HOLD_MS passed, or shutdown); idempotent */
  off(): void;
  readonly on: boolean;
}

/** The decision, fed one GC at a time, so tests drive it without V8. */
export function createRegrowthSwitch(o: RegrowthSwitchOptions): RegrowthSwitch {
  const newSpace = o.newSpace ?? newSpaceBytes;
  const smallBytes = o.smallBytes ?? DEFAULT_QUIET.grownBytes;
  const burstMs = o.burstMs ?? BURST_MS;
  let on = false;
  let lastMinorMs = Number.NEGATIVE_INFINITY;
  const off = () => {
    if (!on) return;
    on = false;
    o.setFlags(growthFactorFlag(DEFAULT_GROWTH_FACTOR));
    o.onChange?.(false);
  };
  return {
    onGc(s) {
      if (on) {
        if (s.forced || newSpace() > smallBytes) off();
        return;
      }
      // the release's scavenges are forced: they neither start a burst nor count as its first GC
      if (!s.minor || s.forced) return;
      const previous = lastMinorMs;
      lastMinorMs = s.startMs;
      if (s.startMs - previous > burstMs || newSpace() > smallBytes) return;
      on = true;
      lastMinorMs = Number.NEGATIVE_INFINITY;
      o.setFlags(growthFactorFlag(REGROWTH_FACTOR));
      o.onChange?.(true);
    },
    off,
    get on() {
      return on;
    },
  };
}

/** node's 'gc' performance entry as the switch reads it. */
export function gcSample(entry: PerformanceEntry): GcSample {
  const detail = (entry as PerformanceEntry & { detail?: { kind?: number; flags?: number } }).detail ?? {};
  return {
    minor: detail.kind === constants.NODE_PERFORMANCE_GC_MINOR,
    forced: ((detail.flags ?? 0) & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0,
    startMs: entry.startTime,
  };
}

export interface YoungGenerationRegrowth {
  stop(): void;
}

/**
 * Observes GCs and drives the switch. Off when the release is (node without --expose-gc: nothing
 * shrinks the new space) or when node was started with a growth factor of its own.
 */
export function startYoungGenerationRegrowth(
  logger: Logger,
  o: { gc?: unknown; execArgv?: readonly string[] } = {},
): YoungGenerationRegrowth {
  const gc = 'gc' in o ? o.gc : (globalThis as { gc?: unknown }).gc;
  const execArgv = o.execArgv ?? process.execArgv;
  if (typeof gc !== 'function' || execArgv.some((a) => a.startsWith('--semi-space-growth-factor'))) {
    return { stop() {} };
  }
  let hold: NodeJS.Timeout | undefined;
  const regrowth = createRegrowthSwitch({
    setFlags: setFlagsFromString,
    onChange(on) {
      clearTimeout(hold);
      hold = on ? setTimeout(() => regrowth.off(), HOLD_MS).unref() : undefined;
      logger.debug(
        { newSpaceMiB: newSpaceBytes() / 2 ** 20 },
        on ? 'young generation regrowth on' : 'young generation regrowth off',
      );
    },
  });
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) regrowth.onGc(gcSample(entry));
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop() {
      observer.disconnect();
      regrowth.off();
    },
  };
}
