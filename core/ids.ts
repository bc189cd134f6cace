import { randomBytes } from 'node:crypto';

/** Produces ObjectId-style ids: 4-byte big-endian seconds timestamp + 8 random bytes, 24 lowercase hex chars. */
export type IdGenerator = () => string;

export const ID_PATTERN = /^[0-9a-f]{24}$/;

export function createIdGenerator(nowMs: () => number = Date.now): IdGenerator {
  return () => {
    const buf = Buffer.allocUnsafe(12);
    buf.writeUInt32BE(Math.floor(nowMs() / 1000) >>> 0, 0);
    randomBytes(8).copy(buf, 4);
    return buf.toString('hex');
  };
}

export const isId = (value: unknown): value is string => typeof value === 'string' && ID_PATTERN.test(value);
