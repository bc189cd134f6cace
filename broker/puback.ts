/**
 * The PUBACK of an ingested QoS 1 PUBLISH, written by dakkio instead of Aedes.
 *
 * Aedes 1.2.0 acknowledges QoS 1 in node_modules/aedes/lib/handlers/publish.js
 * (enqueuePublish): a PubAck object, mqtt-packet's writeToStream (a cork, three
 * stream writes and a nextTick uncork), then `setImmediate(done)` before it runs
 * broker.publish and reads the socket again (lib/write.js). Devices that send now and
 * then put about one PUBLISH into each socket read, so none of that is shared with
 * another message, and it was a measurable share of the CPU per message at half the
 * maximum rate (bench/RESULTS.md, PUBACK latency at half rate). Here the four bytes
 * [MQTT-3.4] are one write, and the packet goes on to Aedes as QoS 0, whose
 * enqueuePublish only calls broker.publish (answered at once for the sink topic).
 *
 * What Aedes' write kept is kept: the PUBACK still leaves only when the outcome is
 * known (after the commit), in order per session (the ack queue), and when the socket's
 * buffer is full the client is not read again until it drains (Aedes' waitForDrain).
 */
export interface PubAckConnection {
  write(chunk: Buffer): boolean;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  removeListener(event: 'drain' | 'close', listener: () => void): unknown;
  destroyed?: boolean;
}

/**
 * Writes the PUBACK for `messageId` and calls `done` once the client may be read
 * again: at once, or after 'drain' when the write filled the socket's buffer.
 * Returns false (nothing written) when the connection is gone.
 */
export function writePubAck(conn: PubAckConnection, messageId: number, done: () => void): boolean {
  if (conn.destroyed) return false;
  const ack = Buffer.allocUnsafe(4);
  ack[0] = 0x40; // PUBACK, flags 0
  ack[1] = 2; // remaining length: the packet identifier
  ack.writeUInt16BE(messageId, 2);
  if (conn.write(ack)) {
    done();
    return true;
  }
  // as Aedes' waitForDrain: hold the client's reads until the buffer drains (or it closes)
  const resume = () => {
    conn.removeListener('drain', resume);
    conn.removeListener('close', resume);
    done();
  };
  conn.once('drain', resume);
  conn.once('close', resume);
  return true;
}
