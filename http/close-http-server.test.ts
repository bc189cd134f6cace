import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { closeHttpServer } from './close-http-server.ts';
import type { HttpEnv } from './http-env.ts';
import { startHttpServer } from './http-server.ts';

/** Posts in a loop on keep-alive connections, `inFlight` at a time, until told to stop or refused. */
function postInALoop(url: string, inFlight: number) {
  let running = true;
  let answered = 0;
  const loop = async () => {
    while (running) {
      try {
        const res = await fetch(url, { method: 'POST', body: 'x' });
        await res.arrayBuffer();
        answered++;
      } catch {
        return; // the server went away
      }
    }
  };
  const loops = Array.from({ length: inFlight }, loop);
  return {
    answered: () => answered,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)));
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('closeHttpServer', () => {
  it('finishes while clients keep posting on busy keep-alive connections', async () => {
    // Node's close() + closeIdleConnections() alone never finishes here: the connections
    // answering a request at that moment stay open, and the loops keep them busy.
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => setTimeout(() => res.writeHead(201).end('ok'), 2));
    });
    const load = postInALoop(await listen(server), 16);
    cleanups.push(() => load.stop());
    while (load.answered() < 200) await new Promise((r) => setTimeout(r, 5));

    await closeHttpServer(server, 600_000); // a grace that would outlast the test: only Connection: close can end it
    const open = await new Promise<number>((r) => server.getConnections((_e, n) => r(n)));
    expect(open).toBe(0);
  }, 20_000);

  it('cuts a request still unanswered when the grace period ends', async () => {
    const server = createServer(() => {}); // never answers
    const url = await listen(server);
    const pending = fetch(url).then(
      () => 'answered',
      () => 'cut',
    );
    await new Promise((r) => setTimeout(r, 50));
    await closeHttpServer(server, 100);
    expect(await pending).toBe('cut');
  });
});

describe('startHttpServer close()', () => {
  it('answers a request that arrives on a kept-alive connection while it closes with Connection: close', async () => {
    const app = new Hono<HttpEnv>();
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    app.get('/slow', async (c) => {
      await held;
      return c.text('slow');
    });
    app.get('/fast', (c) => c.text('fast'));
    const server = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
    // one socket: /fast waits for /slow's connection and reaches the server after close()
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(async () => agent.destroy());
    const slow = get(`http://127.0.0.1:${server.port}/slow`, agent);
    const fast = get(`http://127.0.0.1:${server.port}/fast`, agent);
    await new Promise((r) => setTimeout(r, 50));
    const closed = server.close();
    release();
    expect((await slow).body).toBe('slow');
    const late = await fast;
    expect(late.body).toBe('fast');
    expect(late.connection).toBe('close');
    await closed;
  });
});

function get(url: string, agent: Agent): Promise<{ body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    request(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ body, connection: res.headers.connection }));
    })
      .on('error', reject)
      .end();
  });
}
