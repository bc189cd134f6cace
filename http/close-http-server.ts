/**
 * Stops an HTTP(S) server without letting busy keep-alive clients hold the stop open.
 *
 * Node's close() + closeIdleConnections() closes only the connections idle at that
 * moment. A connection that is answering a request keeps its keep-alive, and a client
 * that sends its next request as soon as it has the answer (a gateway posting in a loop)
 * keeps it busy for ever: close() never calls back and the process never stops. That
 * was the test suite's intermittent 180 s SIGTERM hang (test/durability: 16 fetch loops
 * still running while dakkio stops). So from close() on:
 * - every response says `Connection: close`, after which Node ends its socket, so a busy
 *   connection ends after at most one more request;
 * - connections are swept as they go idle (a client that stopped sending);
 * - after `graceMs` whatever is still open is cut. Those requests were not answered, so
 *   nothing acknowledged is lost: a client retries them elsewhere or later.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

const SWEEP_MS = 50;

export function closeHttpServer(server: Server, graceMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    const sayClose = (_req: IncomingMessage, res: ServerResponse) => {
      if (!res.headersSent) res.setHeader('connection', 'close');
    };
    server.prependListener('request', sayClose);
    const sweep = setInterval(() => server.closeIdleConnections(), SWEEP_MS);
    const cut = setTimeout(() => server.closeAllConnections(), graceMs);
    sweep.unref();
    cut.unref();
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
}
