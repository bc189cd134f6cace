import { describe, expect, it } from 'vitest';
import { createAckQueue } from './ack-queue.ts';

describe('ack queue', () => {
  it('answers each session in arrival order, whatever order the outcomes settle in', async () => {
    const answered: string[] = [];
    const q = createAckQueue<object, string, string>((_s, packet, outcome) => answered.push(`${packet}:${outcome}`));
    const a = {};
    const b = {};
    let release!: (v: string) => void;
    const slow = new Promise<string>((r) => (release = r));
    q.add(a, 'a1', slow, () => 'err');
    q.add(a, 'a2', Promise.resolve('ok'), () => 'err');
    q.add(b, 'b1', Promise.resolve('ok'), () => 'err');
    q.add(a, 'a3', Promise.reject(new Error('x')), () => 'failed');
    await new Promise((r) => setImmediate(r));
    expect(answered).toEqual(['b1:ok']);
    expect(q.size).toBe(3);
    const drained = q.drained();
    release('late');
    await drained;
    expect(answered).toEqual(['b1:ok', 'a1:late', 'a2:ok', 'a3:failed']);
    expect(q.size).toBe(0);
    await q.drained();
  });
});
