/**
 * Outbound HTTP for webhooks that cannot be turned against the host (SSRF):
 * every connection is checked twice, in the DNS lookup (all resolved addresses
 * must be public) and on the socket actually connected (its remote address), so a
 * DNS answer that changes between creation and delivery (rebinding) is still
 * refused. Redirects are never followed (undici's request() has no redirect
 * handling unless an interceptor is added), response bodies are read up to a cap,
 * connect and total time are bounded. undici rather than node:http because core
 * must not import node:http/node:net and undici's connector exposes the hooks needed.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent, buildConnector, request } from 'undici';
import { checkHostSync, isForbiddenAddress, urlRefused, WEBHOOK_URL_FORBIDDEN, WEBHOOK_URL_INSECURE } from './address-policy.ts';

export interface SafeFetchOptions {
  allowPrivate: boolean;
  /** default 5000 */
  connectTimeoutMs?: number;
  /** whole attempt, headers and capped body included; default 15000 */
  totalTimeoutMs?: number;
  /** bytes of the response body kept; the rest is discarded; default 4096 */
  maxBodyBytes?: number;
  /** DNS used for connections (tests inject a rebinding answer); default the OS resolver */
  resolveAll?: ResolveAll;
}

export interface SafeResponse {
  status: number;
  /** at most maxBodyBytes, decoded as UTF-8 */
  body: string;
}

export interface SafeFetch {
  post(url: string, headers: Record<string, string>, body: string): Promise<SafeResponse>;
  close(): Promise<void>;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

function forbiddenError(address: string): Error {
  return urlRefused(WEBHOOK_URL_FORBIDDEN, `webhook host resolved to a non-public address (${address})`);
}

export type ResolveAll = (hostname: string, family: number) => Promise<LookupAddress[]>;

const systemResolveAll: ResolveAll = (hostname, family) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { family, all: true }, (err, addrs) => (err ? reject(err) : resolve(addrs))));

/** A dns.lookup replacement that refuses the whole answer if any address is non-public. */
export function createGuardedLookup(resolveAll: ResolveAll = systemResolveAll) {
  return (hostname: string, options: { all?: boolean; family?: number } | number, callback: LookupCallback): void => {
    const opts = typeof options === 'number' ? { family: options } : options;
    resolveAll(hostname, opts.family ?? 0).then(
      (addresses) => {
        const bad = addresses.find((a) => isForbiddenAddress(a.address));
        if (bad) return callback(forbiddenError(bad.address) as NodeJS.ErrnoException, []);
        if (opts.all) return callback(null, addresses);
        const first = addresses[0];
        if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
        callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  };
}

export const guardedLookup = createGuardedLookup();

export function createSafeFetch(options: SafeFetchOptions): SafeFetch {
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const totalTimeoutMs = options.totalTimeoutMs ?? 15000;
  const maxBodyBytes = options.maxBodyBytes ?? 4096;
  const base = buildConnector(
    options.allowPrivate ? { timeout: connectTimeoutMs } : ({ timeout: connectTimeoutMs, lookup: createGuardedLookup(options.resolveAll) } as buildConnector.BuildOptions),
  );
  const agent = new Agent({
    connect: (opts, callback) =>
      base(opts, (err, socket) => {
        if (err || !socket) return callback(err ?? new Error('connect failed'), null);
        // the authoritative check: the peer we are actually talking to
        const remote = socket.remoteAddress;
        if (!options.allowPrivate && (remote === undefined || isForbiddenAddress(remote))) {
          socket.destroy();
          return callback(forbiddenError(remote ?? 'unknown'), null);
        }
        callback(null, socket);
      }),
    headersTimeout: totalTimeoutMs,
    bodyTimeout: totalTimeoutMs,
    // one attempt per delivery; a kept-alive socket would skip the per-connection check's freshness
    pipelining: 0,
  });
  let closed = false;

  return {
    async post(rawUrl, headers, body) {
      const url = new URL(rawUrl);
      if (!options.allowPrivate) {
        if (url.protocol !== 'https:') throw urlRefused(WEBHOOK_URL_INSECURE, 'webhook URL must use https');
        checkHostSync(url);
      }
      const signal = AbortSignal.timeout(totalTimeoutMs);
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'dakkio-webhooks/1', ...headers },
        body,
        dispatcher: agent,
        signal,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      try {
        for await (const chunk of res.body) {
          const buf = chunk as Buffer;
          const room = maxBodyBytes - size;
          if (room > 0) chunks.push(buf.subarray(0, room));
          size += buf.length;
          if (size >= maxBodyBytes) break;
        }
      } finally {
        // stop reading (and drop the connection) once the cap is reached
        res.body.destroy();
      }
      return { status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') };
    },
    async close() {
      if (closed) return;
      closed = true;
      await agent.close();
    },
  };
}
