import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { describe, expect, it } from 'vitest';
import { apiCors } from './api-cors.ts';

const options = {
  origin: ['https://app.example.com'],
  credentials: false as const,
  allowHeaders: ['Content-Type', 'Authorization', 'X-API-Key'],
  allowMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
  maxAge: 600,
};

function app(mw: ReturnType<typeof apiCors>) {
  const a = new Hono();
  a.onError((_e, c) => c.json({ error: 'boom' }, 500));
  a.use('/api/*', async (c, next) => {
    await next();
    if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
  });
  a.use('/api/*', mw);
  a.get('/api/json', (c) => c.json({ ok: true }));
  a.get('/api/body', (c) => c.body('{"series":[]}', undefined, { 'Content-Type': 'application/json' }));
  a.get('/api/raw', () => new Response('raw', { status: 202, headers: { 'x-raw': '1' } }));
  // headers of a redirect are immutable: the middleware must not throw on them
  a.get('/api/moved', () => Response.redirect('http://localhost/api/json', 308));
  a.get('/api/fail', () => {
    throw new Error('boom');
  });
  return a;
}

const snapshot = async (r: Response) => ({
  status: r.status,
  headers: [...r.headers.entries()].sort(),
  body: await r.text(),
});

describe('apiCors', () => {
  it('answers every request as hono cors with the same options does', async () => {
    const ours = app(apiCors(options));
    const hono = app(cors(options));
    const origins = [undefined, 'https://app.example.com', 'https://evil.example', ''];
    const requests: [string, string, Record<string, string>][] = [];
    for (const path of ['/api/json', '/api/body', '/api/raw', '/api/moved', '/api/fail', '/api/missing']) {
      for (const origin of origins) requests.push(['GET', path, origin === undefined ? {} : { origin }]);
    }
    for (const origin of origins) {
      const h: Record<string, string> = {
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      };
      if (origin !== undefined) h.origin = origin;
      requests.push(['OPTIONS', '/api/json', h]);
    }
    for (const [method, path, headers] of requests) {
      const a = await snapshot(await ours.request(path, { method, headers }));
      const b = await snapshot(await hono.request(path, { method, headers }));
      expect(a, `${method} ${path} ${JSON.stringify(headers)}`).toEqual(b);
    }
  });

  it('adds Vary: Origin once, on top of a Vary the handler set', async () => {
    const a = new Hono();
    a.use('/api/*', apiCors(options));
    a.get('/api/v', (c) => c.json({}, 200, { Vary: 'Accept-Encoding' }));
    const r = await a.request('/api/v', { headers: { origin: 'https://app.example.com' } });
    expect(r.headers.get('vary')).toBe('Accept-Encoding, Origin');
    expect(r.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
  });

  // the cost this middleware exists for: hono's cors hands on a rebuilt response (a stream around the body)
  it('hands on the response the handler made, not a rebuilt one', async () => {
    for (const [mw, same] of [
      [apiCors(options), true],
      [cors(options), false],
    ] as const) {
      let made: Response | undefined;
      let sent: Response | undefined;
      const a = new Hono();
      a.use('*', async (c, next) => {
        await next();
        sent = c.res;
      });
      a.use('*', mw);
      a.get('/api/x', (c) => {
        made = c.json({ ok: true });
        return made;
      });
      await a.request('/api/x');
      expect(sent === made).toBe(same);
    }
  });
});
