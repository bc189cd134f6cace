/**
 * Refuse oversize packets before they are buffered. Aedes 1.x builds its
 * mqtt-packet parser without options, so a 200 MB PUBLISH would be read into
 * memory before any hook sees it. mqtt-packet learns the remaining length in
 * `_parseLength` (node_modules/mqtt-packet/parser.js, Parser#_parseLength); we
 * wrap that one method per client and emit a parser error, which Aedes turns into a
 * closed connection (lib/client.js: `this._parser.on('error', ...)`). Private API,
 * so it degrades to a no-op if the shape changes; the exact payload limit is then
 * still enforced in authorizePublish.
 */
interface ParserLike {
  _parseLength(): boolean;
  _emitError(err: Error): void;
  packet: { length: number; cmd?: string };
}

export function guardPacketSize(client: unknown, maxRemainingLength: number, onTooLarge: () => void): boolean {
  const parser = (client as { _parser?: Partial<ParserLike> })._parser;
  if (!parser || typeof parser._parseLength !== 'function' || typeof parser._emitError !== 'function') return false;
  const original = parser._parseLength;
  // an anonymous function on purpose: tsx keeps the names of named function expressions with a
  // `__name` helper (Object.defineProperty per closure), which ran on every CONNECT
  parser._parseLength = function (this: ParserLike) {
    const ok = original.call(this);
    if (ok && this.packet.length > maxRemainingLength) {
      onTooLarge();
      this._emitError(new Error(`packet of ${this.packet.length} bytes exceeds the ${maxRemainingLength}-byte limit`));
      return false;
    }
    return ok;
  };
  return true;
}

/** Largest legitimate PUBLISH around a payload: 2-byte topic length + topic (max 65535) + packet id. */
export const maxRemainingLengthFor = (maxPayloadBytes: number) => maxPayloadBytes + 2 + 65_535 + 2;
