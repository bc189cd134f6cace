/** Prepares a running dakkio over its public API: a user, a bucket, data sources, API keys. */

async function call<T>(base: string, method: string, path: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status}: ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface DakkioFixture {
  baseUrl: string;
  token: string;
  bucketId: string;
  sourceIds: string[];
  /** read+write on every bucket of the user */
  apiKey: string;
  /** JWT-authenticated call */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** readings stored in the bucket (GET /api/buckets/:id/stats) */
  countReadings(): Promise<number>;
}

/** What a fixture needs to be rebuilt against a copy of the same data dir (see prefill.ts). */
export interface SavedFixture {
  email: string;
  password: string;
  bucketId: string;
  sourceIds: string[];
  apiKey: string;
}

export async function setupDakkio(baseUrl: string, sources: number): Promise<DakkioFixture & { saved: SavedFixture }> {
  const email = `bench-${Date.now()}@example.com`;
  const password = 'bench-password-1';
  const reg = await call<{ token: string }>(baseUrl, 'POST', '/api/auth/register', { email, password }, {});
  const auth = { authorization: `Bearer ${reg.token}` };
  const api = <T>(method: string, path: string, body?: unknown) => call<T>(baseUrl, method, path, body, auth);
  const bucket = await api<{ id: string }>('POST', '/api/buckets', { name: 'bench' });
  const sourceIds: string[] = new Array(sources);
  // a few at a time: 3,000 sequential round trips would dominate the set-up time
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < sources) {
        const i = next++;
        const s = await api<{ id: string }>('POST', `/api/buckets/${bucket.id}/data-sources`, { name: `s${i}` });
        sourceIds[i] = s.id;
      }
    }),
  );
  const key = await api<{ secret: string }>('POST', '/api/keys', { name: 'bench', permissions: ['read', 'write'] });
  const saved = { email, password, bucketId: bucket.id, sourceIds, apiKey: key.secret };
  return { ...fixture(baseUrl, reg.token, saved), saved };
}

/** A fixture for a dakkio started on a copy of a data dir that setupDakkio prepared: logs in again. */
export async function attachDakkio(baseUrl: string, saved: SavedFixture): Promise<DakkioFixture> {
  const login = await call<{ token: string }>(
    baseUrl,
    'POST',
    '/api/auth/login',
    { email: saved.email, password: saved.password },
    {},
  );
  return fixture(baseUrl, login.token, saved);
}

function fixture(baseUrl: string, token: string, saved: SavedFixture): DakkioFixture {
  const api = <T>(method: string, path: string, body?: unknown) =>
    call<T>(baseUrl, method, path, body, { authorization: `Bearer ${token}` });
  return {
    baseUrl,
    token,
    bucketId: saved.bucketId,
    sourceIds: saved.sourceIds,
    apiKey: saved.apiKey,
    api,
    async countReadings() {
      const s = await api<{ readings: number }>('GET', `/api/buckets/${saved.bucketId}/stats`);
      return s.readings;
    },
  };
}

/** n distinct API keys (write on all buckets), for the connect and idle benchmarks. */
export async function createKeys(f: DakkioFixture, n: number): Promise<string[]> {
  const keys: string[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) {
        const i = next++;
        keys[i] = (await f.api<{ secret: string }>('POST', '/api/keys', { name: `k${i}`, permissions: ['write'] })).secret;
      }
    }),
  );
  return keys;
}
