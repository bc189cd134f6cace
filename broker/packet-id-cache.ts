import mqttPacket from 'mqtt-packet';

/**
 * mqtt-packet's two-byte number cache, switched off before the first packet is written.
 *
 * Why: by default mqtt-packet's writeToStream (Aedes writes CONNACK, SUBACK and forwarded
 * PUBLISHes with it) builds, on its first call, one 2-byte Buffer per number 0–65535 for packet
 * ids and lengths: 65,536 Buffer objects (~6.3 MB of V8 heap) that live in the old space for
 * the life of the process — in a heap snapshot of dakkio under a 3,000-series load, one object
 * in six and an eighth of the live heap (bench/RESULTS.md, "PUBACK p99 at half rate, round 5").
 * Every mark-compact marks them again, and on the broker's one core a mark-compact is a PUBACK
 * stall. Without the cache mqtt-packet allocates the two bytes per number it writes (a pooled
 * Buffer slice, short-lived); dakkio's own PUBACK (broker/puback.ts) never went through it.
 *
 * The switch is process-wide and only spares the memory if it comes before the first packet
 * mqtt-packet writes in this process: createBroker calls it first thing.
 */
export function skipPacketIdCache(): void {
  mqttPacket.writeToStream.cacheNumbers = false;
}

