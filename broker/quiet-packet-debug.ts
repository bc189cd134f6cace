/**
 * mqtt-packet (under Aedes) calls its `debug` loggers several times per packet, in
 * the parser and in writeToStream. A disabled `debug` 4.x logger still costs a call
 * with a rest-parameter array and an `enabled` getter each time: ~6% of the broker's
 * CPU and ~16% of its allocations at 100 publishers × 20 in flight (bench/RESULTS.md).
 * There is no option for it, so before mqtt-packet is loaded, the `debug` factory it
 * resolves hands its `mqtt-packet:*` namespaces a no-op when they are not enabled by
 * DEBUG at start-up (DEBUG=mqtt-packet:* still gets the real loggers). Every other
 * namespace is untouched. If mqtt-packet is already loaded, or `debug` does not look
 * like the factory we expect, nothing is changed and the answer is false.
 */
import { createRequire } from 'node:module';

type Factory = ((namespace: string) => { enabled: boolean }) & Record<string, unknown>;
const NAMESPACE = 'mqtt-packet:';

export function quietPacketDebug(): boolean {
  const require = createRequire(import.meta.url);
  let parserPath: string;
  let debugPath: string;
  try {
    parserPath = require.resolve('mqtt-packet/parser.js');
    debugPath = createRequire(parserPath).resolve('debug');
  } catch {
    return false;
  }
  if (require.cache[parserPath]) return false;
  const original = require(debugPath) as Factory;
  const cached = require.cache[debugPath];
  if (typeof original !== 'function' || !cached || cached.exports !== original) return false;
  const noop = Object.assign(() => undefined, { enabled: false });
  const factory = function quietDebugFactory(namespace: string) {
    const logger = original(namespace);
    return typeof namespace === 'string' && namespace.startsWith(NAMESPACE) && !logger.enabled ? noop : logger;
  };
  // the factory doubles as the module's API (enable, disable, names, default, ...)
  Object.assign(factory, original, { default: factory });
  cached.exports = factory;
  return true;
}
