/**
 * Puts the Hono app on a real socket (HTTP, or HTTPS when a certificate is
 * configured). Port 0 picks a free port; the chosen one is returned.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { closeHttpServer } from './close-http-server.ts';
import type { HttpEnv } from './http-env.ts';

export interface HttpServerOptions {
  host: string;
  port: number;
  tls?: { certPath: string; keyPath: string } | undefined;
}

export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

export class ListenError extends Error {
  constructor(
    readonly setting: string,
    readonly port: number,
    cause: NodeJS.ErrnoException,
  ) {
    super(
      cause.code === 'EADDRINUSE'
        ? `port ${port} is already in use; set ${setting} to a free port (0 picks one)`
        : `cannot listen on port ${port} (${cause.code ?? cause.message}); change ${setting}`,
      { cause },
    );
    this.name = 'ListenError';
  }
}

export async function startHttpServer(app: Hono<HttpEnv>, opts: HttpServerOptions): Promise<HttpServer> {
  const tls = opts.tls
    ? {
        cert: readFileSync(opts.tls.certPath),
        key: readFileSync(opts.tls.keyPath),
      }
    : undefined;
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve(
      {
        fetch: app.fetch,
        hostname: opts.host,
        port: opts.port,
        ...(tls ? { createServer: createHttpsServer, serverOptions: tls } : {}),
      },
      () => resolve(s),
    );
    s.once('error', (err: NodeJS.ErrnoException) => reject(new ListenError('DAKKIO_HTTP_PORT', opts.port, err)));
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= closeHttpServer(server as Server);
      return closing;
    },
  };
}
