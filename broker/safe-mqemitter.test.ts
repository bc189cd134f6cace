import mqemitter from 'mqemitter';
import { describe, expect, it } from 'vitest';
import { createSafeMqEmitter } from './safe-mqemitter.ts';

/**
 * The issue-7 crash in miniature: one message held by a listener that does not call
 * `done` (Aedes' deliver to a socket waiting for 'drain') fills the only slot, a
 * burst nobody listens to queues behind it, and releasing the slot drains the
 * queue. Unpatched, that drain is one synchronous recursion per queued message.
 */
const BURST = 30_000;

function fillAndQueue(mq: mqemitter.MQEmitter) {
  let release: (() => void) | undefined;
  mq.on('slow/topic', (_msg, done) => {
    release = done;
  });
  let delivered = 0;
  let allDone!: () => void;
  const finished = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  mq.emit({ topic: 'slow/topic' });
  for (let i = 0; i < BURST; i++) {
    mq.emit({ topic: 'nobody/listens', i }, () => {
      delivered++;
      if (delivered === BURST) allDone();
    });
  }
  return { release: () => release?.(), finished, delivered: () => delivered };
}

describe('safe mqemitter', () => {
  it('reproduces the stack overflow with the unpatched mqemitter', () => {
    const mq = mqemitter({ concurrency: 1, matchEmptyLevels: true });
    const burst = fillAndQueue(mq);
    expect((mq as unknown as { length: number }).length).toBe(BURST);
    expect(() => burst.release()).toThrow(RangeError);
  });

  it('drains the same burst without overflowing, every callback called once', async () => {
    const mq = createSafeMqEmitter({ concurrency: 1 });
    const burst = fillAndQueue(mq);
    expect(mq.length).toBe(BURST);
    expect(() => burst.release()).not.toThrow();
    await burst.finished;
    expect(burst.delivered()).toBe(BURST);
    expect(mq.length).toBe(0);
    expect(mq.current).toBe(0);
    await new Promise<void>((resolve) => mq.close(resolve));
  });

  it('keeps delivering in order to a listener', async () => {
    const mq = createSafeMqEmitter({ concurrency: 1, maxSyncDepth: 4 });
    const seen: number[] = [];
    mq.on('t', (msg, done) => {
      seen.push(msg.i as number);
      done();
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
    const n = 50;
    await new Promise<void>((resolve) => {
      for (let i = 0; i < n; i++) mq.emit({ topic: 't', i }, () => (i === n - 1 ? resolve() : undefined));
    });
    expect(seen).toEqual(Array.from({ length: n }, (_, i) => i));
    await new Promise<void>((resolve) => mq.close(resolve));
  });
});
