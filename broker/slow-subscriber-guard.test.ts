import { describe, expect, it } from 'vitest';
import { createBrokerCounters } from './counters.ts';
import { createSlowSubscriberGuard, DROPPED_SLOW_SUBSCRIBER } from './slow-subscriber-guard.ts';

/** The part of an Aedes client the guard touches. */
function fakeClient() {
  const written: unknown[] = [];
  const conn = { writableNeedDrain: false };
  return {
    written,
    conn,
    deliver0(packet: unknown, cb: () => void) {
      written.push(packet);
      cb();
    },
  };
}

describe('slow-subscriber guard', () => {
  it('is attached once: a second attach (another granted subscription) leaves the first wrapper', () => {
    const counters = createBrokerCounters();
    const guard = createSlowSubscriberGuard(counters, 2);
    const c = fakeClient();
    const aedesOwn = c.deliver0;
    expect(guard.attach(c)).toBe(true);
    const wrapped = c.deliver0;
    expect(wrapped).not.toBe(aedesOwn);
    expect(guard.attach(c)).toBe(true);
    expect(c.deliver0).toBe(wrapped);

    // one wrapper: a full socket drops each delivery once, counted once
    c.conn.writableNeedDrain = true;
    let answered = 0;
    c.deliver0('p1', () => answered++);
    expect(answered).toBe(1);
    expect(c.written).toEqual([]);
    expect(counters.snapshot()[DROPPED_SLOW_SUBSCRIBER]).toBe(1);
    c.conn.writableNeedDrain = false;
    c.deliver0('p2', () => answered++);
    expect(c.written).toEqual(['p2']);
  });

  it('leaves a client without a QoS 0 delivery alone', () => {
    const guard = createSlowSubscriberGuard(createBrokerCounters());
    expect(guard.attach({ conn: {} })).toBe(false);
  });
});
