/**
 * Test support for the "Coming from Mosquitto" end-to-end tests: a whole dakkio
 * (test-dakkio.ts) with a registered owner, a bucket, and JWT calls to its API.
 */
import { createApiClient } from './api-client.ts';
import { startTestDakkio, type TestDakkio } from './test-dakkio.ts';
import type { DakkioOverrides } from '../../cli/create-dakkio.ts';

export interface CompatDakkio {
  d: TestDakkio;
  api: ReturnType<typeof createApiClient>;
  token: string;
  email: string;
  bucketId: string;
  /** JWT-authenticated call; throws with the body when the status is not the expected one */
  // biome-ignore lint/suspicious/noExplicitAny: response bodies of every /api shape, read by tests
  call<T = any>(method: string, path: string, body?: unknown, expected?: number): Promise<T>;
}

export async function startCompatDakkio(
  opts: { email?: string; dataDir?: string; env?: Record<string, string>; overrides?: DakkioOverrides; existing?: { token: string; bucketId: string } } = {},
): Promise<CompatDakkio> {
  const d = await startTestDakkio({
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    overrides: { upstreamBackoff: { initialMs: 50, maxMs: 500 }, ...opts.overrides },
  });
  const api = createApiClient(d.baseUrl);
  const email = opts.email ?? 'mosquitto@example.com';
  let token: string;
  let bucketId: string;
  if (opts.existing) {
    token = (await api('POST', '/api/auth/login', { body: { email, password: 'correct horse battery' } })).body.token;
    bucketId = opts.existing.bucketId;
  } else {
    const reg = await api('POST', '/api/auth/register', { body: { email, password: 'correct horse battery' } });
    if (reg.status !== 201) throw new Error(`register: ${reg.status} ${reg.text}`);
    token = reg.body.token;
    const b = await api('POST', '/api/buckets', { token, body: { name: 'legacy' } });
    bucketId = b.body.id;
  }
  const call = async (method: string, path: string, body?: unknown, expected?: number) => {
    const r = await api(method, path, { token, ...(body !== undefined ? { body } : {}) });
    const want = expected ?? (method === 'POST' ? 201 : method === 'DELETE' ? 204 : 200);
    if (r.status !== want) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
    return r.body;
  };
  return { d, api, token, email, bucketId, call };
}
