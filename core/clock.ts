/** Injected everywhere time matters so tests can freeze or advance it. Epoch milliseconds. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests can move by hand. */
export function createManualClock(startMs = Date.UTC(2026, 10, 28, 10, 0, 0)): Clock & {
  set(ms: number): void;
  advance(ms: number): void;
} {
  let t = startMs;
  return {
    now: () => t,
    set: (ms) => {
      t = ms;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}
