import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { writePubAck } from './puback.ts';

function fakeConnection(accepts: boolean) {
  const conn = Object.assign(new EventEmitter(), {
    written: [] as Buffer[],
    destroyed: false,
    write(chunk: Buffer) {
      conn.written.push(Buffer.from(chunk));
      return accepts;
    },
  });
  return conn;
}

describe('writePubAck', () => {
  it('writes the 4-byte PUBACK of the packet id and lets the client be read at once', () => {
    const conn = fakeConnection(true);
    let done = 0;
    expect(writePubAck(conn, 0x1234, () => done++)).toBe(true);
    expect(conn.written).toEqual([Buffer.from([0x40, 0x02, 0x12, 0x34])]);
    expect(done).toBe(1);
  });

  it('holds the client until the socket drains when the write filled its buffer', () => {
    const conn = fakeConnection(false);
    let done = 0;
    expect(writePubAck(conn, 7, () => done++)).toBe(true);
    expect(done).toBe(0);
    conn.emit('drain');
    expect(done).toBe(1);
    conn.emit('close');
    expect(done).toBe(1);
    expect(conn.listenerCount('drain') + conn.listenerCount('close')).toBe(0);
  });

  it('writes nothing on a destroyed connection', () => {
    const conn = fakeConnection(true);
    conn.destroyed = true;
    let done = 0;
    expect(writePubAck(conn, 1, () => done++)).toBe(false);
    expect(conn.written).toHaveLength(0);
    expect(done).toBe(0);
  });
});
