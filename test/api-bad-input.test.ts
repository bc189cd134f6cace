/**
 * Malformed requests over real HTTP get the documented status and error code in
 * the one error shape: invalid JSON, wrong types, bad metric names, too many
 * values, bad timestamps, oversize bodies, wrong content types, unknown routes,
 * bad query parameters. Nothing a refused request carried is stored.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, type ApiResponse, createApiClient } from './harness/api-client.ts';
import { startTestDakkio, type TestDakkio } from './harness/test-dakkio.ts';

const MiB = 1024 * 1024;

describe('HTTP bad input', () => {
  let d: TestDakkio;
  let api: Api;
  let token: string;
  let apiKey: string;
  let bucketId: string;
  let sourceId: string;
  const range = 'from=2026-11-28T00:00:00Z&to=2026-11-29T00:00:00Z';

  beforeAll(async () => {
    d = await startTestDakkio();
    api = createApiClient(d.baseUrl);
    token = (
      await api('POST', '/api/auth/register', { body: { email: 'bad@example.com', password: 'correct horse battery' } })
    ).body.token;
    bucketId = (await api('POST', '/api/buckets', { token, body: { name: 'b' } })).body.id;
    sourceId = (await api('POST', `/api/buckets/${bucketId}/data-sources`, { token, body: { name: 's' } })).body.id;
    apiKey = (await api('POST', '/api/keys', { token, body: { name: 'k', permissions: ['read', 'write'] } })).body
      .secret;
  });
  afterAll(async () => d?.destroy());

  const expectError = (r: ApiResponse, status: number, code: string, what = '') => {
    expect(r.status, `${what} ${r.text}`).toBe(status);
    expect(r.headers.get('content-type'), what).toMatch(/^application\/json/);
    expect(Object.keys(r.body), what).toEqual(['error']);
    expect(r.body.error.code, what).toBe(code);
    expect(r.body.error.message, what).toBeTypeOf('string');
    expect(r.text, what).not.toMatch(/\bat .+\.ts:\d+/);
  };
  const expectValidation = (r: ApiResponse, what: string, pathPart?: string) => {
    expectError(r, 400, 'validation_failed', what);
    expect(Array.isArray(r.body.error.details), `${what}: details`).toBe(true);
    expect(r.body.error.details.length).toBeGreaterThan(0);
    for (const detail of r.body.error.details) expect(detail.message).toBeTypeOf('string');
    if (pathPart) expect(JSON.stringify(r.body.error.details), what).toContain(pathPart);
  };
  const send = (values: unknown, timestamp: unknown = '2026-11-28T10:00:00.000Z') =>
    api('POST', '/api/data', { apiKey, body: { bucketId, dataSourceId: sourceId, values, timestamp } });

  it('invalid JSON is 400 invalid_json on management and data routes', async () => {
    expectError(
      await api('POST', '/api/buckets', { token, rawBody: '{"name": "x",', contentType: 'application/json' }),
      400,
      'invalid_json',
      'buckets',
    );
    expectError(
      await api('POST', '/api/data', { apiKey, rawBody: '{values: 1}', contentType: 'application/json' }),
      400,
      'invalid_json',
      'data',
    );
    expectError(
      await api('POST', '/api/auth/login', { rawBody: 'nope', contentType: 'application/json' }),
      400,
      'invalid_json',
      'login',
    );
    expectError(
      await api('POST', '/api/data/batch', { apiKey, rawBody: '[', contentType: 'application/json' }),
      400,
      'invalid_json',
      'batch',
    );
    expectError(
      await api('POST', '/api/buckets', { token, rawBody: '', contentType: 'application/json' }),
      400,
      'invalid_json',
      'empty',
    );
  });

  it('wrong types are 400 validation_failed with details naming the field', async () => {
    expectValidation(await api('POST', '/api/buckets', { token, body: { name: 42 } }), 'bucket name', 'name');
    expectValidation(
      await api('POST', '/api/buckets', { token, body: { name: 'x', retentionDays: 'forever' } }),
      'retention',
      'retentionDays',
    );
    expectValidation(await api('POST', '/api/buckets', { token, body: [] }), 'array body');
    expectValidation(
      await api('POST', '/api/auth/register', { body: { email: 'not-an-email', password: 'correct horse battery' } }),
      'email',
      'email',
    );
    expectValidation(
      await api('POST', '/api/auth/register', { body: { email: 'short@example.com', password: 'short' } }),
      'password',
      'password',
    );
    expectValidation(
      await api('POST', '/api/keys', { token, body: { name: 'k', permissions: ['admin'] } }),
      'permission',
      'permissions',
    );
    expectValidation(
      await api('POST', '/api/keys', { token, body: { name: 'k', permissions: ['read'], bucketIds: ['../etc'] } }),
      'bucket id',
      'bucketIds',
    );
    expectValidation(await send({ t: { nested: 1 } }), 'object value', 'values');
    expectValidation(await send({ t: null }), 'null value', 'values');
    expectValidation(await send('22.5'), 'values as string', 'values');
    expectValidation(await send({}), 'no values', 'values');
    expectValidation(
      await api('POST', '/api/data', { apiKey, body: { bucketId, values: { t: 1 } } }),
      'missing source',
      'dataSourceId',
    );
  });

  it('invalid metric names are refused', async () => {
    expectValidation(await send({ 'bad name': 1 }), 'space');
    expectValidation(await send({ 'temp/room': 1 }), 'slash');
    expectValidation(await send({ [`m${'x'.repeat(64)}`]: 1 }), '65 chars');
    expectValidation(await send({ '': 1 }), 'empty');
    expectValidation(await send({ température: 1 }), 'non-ascii');
    expect((await send({ 'ok_name.v-1:x': 1 })).status).toBe(201);
  });

  it('100 values are fine, 101 are refused', async () => {
    const values = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`m${i}`, i]));
    expectValidation(await send(values(101), '2026-11-28T11:00:00.000Z'), '101 values');
    const ok = await send(values(100), '2026-11-28T11:00:01.000Z');
    expect(ok.status).toBe(201);
    expect(ok.body).toEqual({ accepted: 100 });
    const q = await api('GET', `/api/data?bucketId=${bucketId}&metrics=m0&${range}`, { apiKey });
    expect(q.body.series[0].points).toEqual([['2026-11-28T11:00:01.000Z', 0]]);
  });

  it('bad timestamps are refused', async () => {
    for (const ts of [
      'yesterday',
      '2026-11-28',
      '2026-11-28T10:00:00',
      '2026-13-01T00:00:00Z',
      -1,
      253_402_300_800_000,
      true,
      {},
    ]) {
      expectValidation(await send({ t: 1 }, ts), `timestamp ${JSON.stringify(ts)}`, 'timestamp');
    }
    expect((await send({ t: 1 }, Date.UTC(2026, 10, 28, 12))).status).toBe(201);
    expect((await send({ t: 1 }, '2026-11-28T13:00:00+02:00')).status).toBe(201);
  });

  it('bad query parameters are 400', async () => {
    expectValidation(await api('GET', `/api/data?bucketId=${bucketId}&from=soon`, { apiKey }), 'from');
    expectValidation(
      await api('GET', `/api/data?bucketId=${bucketId}&aggregate=median&interval=1h`, { apiKey }),
      'aggregate',
    );
    expectValidation(
      await api('GET', `/api/data?bucketId=${bucketId}&aggregate=avg`, { apiKey }),
      'aggregate without interval',
    );
    expectValidation(
      await api('GET', `/api/data?bucketId=${bucketId}&aggregate=avg&interval=5w`, { apiKey }),
      'interval',
    );
    expectValidation(await api('GET', `/api/data?bucketId=${bucketId}&limit=-3`, { apiKey }), 'limit');
    expectValidation(await api('GET', `/api/data?bucketId=${bucketId}&limit=1000001`, { apiKey }), 'limit too big');
    expectValidation(await api('GET', `/api/data?bucketId=${bucketId}&format=xml`, { apiKey }), 'format');
    expectValidation(
      await api('GET', `/api/data?bucketId=${bucketId}&from=2026-11-29T00:00:00Z&to=2026-11-28T00:00:00Z`, { apiKey }),
      'from after to',
    );
    expectValidation(await api('GET', `/api/data?bucketId=${bucketId}&metrics=a%20b`, { apiKey }), 'metric name');
    expectValidation(await api('GET', '/api/data', { apiKey }), 'no bucket');
    expectValidation(await api('GET', '/api/buckets?limit=5000', { token }), 'page limit');
  });

  /**
   * Oversize bodies go over a fresh connection each (node:http, agent: false): the server
   * answers 413 before the body is through and may then close the socket, and fetch's
   * pooled keep-alive connections would turn that into a failure of an unrelated later call.
   */
  function rawPost(
    path: string,
    headers: Record<string, string>,
    body: Buffer | ((write: (b: Buffer) => Promise<void>) => Promise<void>),
  ) {
    return new Promise<{ status: number; body: { error: { code: string } } }>((resolve, reject) => {
      const u = new URL(d.baseUrl);
      let answered = false;
      const req = request({ host: u.hostname, port: u.port, path, method: 'POST', agent: false, headers }, (res) => {
        answered = true;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      // Writing into a socket the server closed after answering is expected; only a missing answer is a failure.
      req.on('error', (err) => {
        if (!answered) setTimeout(() => (answered ? undefined : reject(err)), 200);
      });
      if (Buffer.isBuffer(body)) req.end(body);
      else
        void body((b) => new Promise((ok) => (req.write(b) ? ok() : req.once('drain', ok)))).then(
          () => req.end(),
          () => undefined,
        );
    });
  }

  it('oversize bodies are 413 payload_too_large (1 MiB management, 16 MiB batch)', async () => {
    const big = Buffer.from(JSON.stringify({ name: 'x', description: 'y'.repeat(MiB) }));
    const json = { 'content-type': 'application/json' };
    const r1 = await rawPost('/api/buckets', { ...json, authorization: `Bearer ${token}` }, big);
    expect(r1.status).toBe(413);
    expect(r1.body.error.code).toBe('payload_too_large');
    const r2 = await rawPost('/api/data', { ...json, 'x-api-key': apiKey }, big);
    expect(r2.status).toBe(413);
    expect(r2.body.error.code).toBe('payload_too_large');
    // Without a Content-Length (chunked), the limit still holds.
    const chunk = Buffer.alloc(64 * 1024, 32);
    const r3 = await rawPost(
      '/api/buckets',
      { ...json, authorization: `Bearer ${token}`, 'transfer-encoding': 'chunked' },
      async (write) => {
        for (let sent = 0; sent < 2 * MiB; sent += chunk.byteLength) await write(chunk);
      },
    );
    expect(r3.status).toBe(413);
    expect(r3.body.error.code).toBe('payload_too_large');

    // Just under 1 MiB is accepted on a management route (the limit is the body, not a field).
    const almost = JSON.stringify({ name: 'x', description: '' });
    expect(
      (
        await api('POST', '/api/buckets', {
          token,
          rawBody: almost.padEnd(MiB - 10, ' '),
          contentType: 'application/json',
        })
      ).status,
    ).toBe(201);

    const line = `2026-11-28T10:00:00.000Z,${bucketId},${sourceId},${'1'.repeat(1000)}\n`;
    const csv = Buffer.from(
      `timestamp,bucketId,dataSourceId,v\n${line.repeat(Math.ceil((16 * MiB) / line.length) + 1)}`,
    );
    const r4 = await rawPost('/api/data/batch', { 'content-type': 'text/csv', 'x-api-key': apiKey }, csv);
    expect(r4.status).toBe(413);
    expect(r4.body.error.code).toBe('payload_too_large');
  });

  it('a wrong content type is 415', async () => {
    const r1 = await api('POST', '/api/buckets', {
      token,
      rawBody: 'name=x',
      contentType: 'application/x-www-form-urlencoded',
    });
    expectError(r1, 415, 'unsupported_media_type', 'form');
    const r2 = await api('POST', '/api/data', {
      apiKey,
      rawBody: JSON.stringify({ bucketId, dataSourceId: sourceId, values: { t: 1 } }),
      contentType: 'text/plain',
    });
    expectError(r2, 415, 'unsupported_media_type', 'text/plain');
    const r3 = await api('POST', '/api/buckets', { token, rawBody: JSON.stringify({ name: 'x' }) });
    expectError(r3, 415, 'unsupported_media_type', 'no content type');
    const bodiless = await api('POST', '/api/buckets', { token });
    expectError(bodiless, 415, 'unsupported_media_type', 'no body, required fields');
    const r4 = await api('POST', '/api/data/batch', { apiKey, rawBody: '<xml/>', contentType: 'application/xml' });
    expectError(r4, 415, 'unsupported_media_type', 'batch xml');
    expect(
      (
        await api('POST', '/api/buckets', {
          token,
          rawBody: JSON.stringify({ name: 'ok' }),
          contentType: 'application/json; charset=utf-8',
        })
      ).status,
    ).toBe(201);
  });

  it('unknown routes and ids are 404 in the error shape', async () => {
    expectError(await api('GET', '/api/nope'), 404, 'not_found', 'unknown api route');
    expectError(await api('GET', '/elsewhere'), 404, 'not_found', 'outside /api');
    expectError(await api('PUT', '/api/buckets', { token, body: { name: 'x' } }), 404, 'not_found', 'unknown method');
    expectError(await api('GET', '/api/buckets/not-an-id', { token }), 404, 'not_found', 'malformed id');
    expectError(
      await api('GET', `/api/buckets/${bucketId}/data-sources/ffffffffffffffffffffffff`, { token }),
      404,
      'not_found',
      'unknown source',
    );
    expectError(
      await api('POST', '/api/data', {
        apiKey,
        body: { bucketId, dataSourceId: 'ffffffffffffffffffffffff', values: { t: 1 } },
      }),
      404,
      'not_found',
      'unknown source on ingest',
    );
  });

  it('stored nothing from the refused requests', async () => {
    const q = await api('GET', `/api/data?bucketId=${bucketId}&metrics=t&${range}`, { apiKey });
    expect(q.status).toBe(200);
    expect(q.body.series).toEqual([
      {
        dataSourceId: sourceId,
        metric: 't',
        points: [
          ['2026-11-28T11:00:00.000Z', 1],
          ['2026-11-28T12:00:00.000Z', 1],
        ],
      },
    ]);
    const buckets = await api('GET', '/api/buckets', { token });
    expect(buckets.body.items.map((b: { name: string }) => b.name).sort()).toEqual(['b', 'ok', 'x']);
  });
});
