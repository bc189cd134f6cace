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

export async function setupDakkio(baseUrl: string, sources: number): Promise<DakkioFixture> {
  const reg = await call<{ token: string }>(baseUrl, 'POST', '/api/auth/register', {
    email: `bench-${Date.now()}@example.com`,
    password: 'bench-password-1',
  }, {});
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
  return {
    baseUrl,
    token: reg.token,
    bucketId: bucket.id,
    sourceIds,
    apiKey: key.secret,
    api,
    async countReadings() {
      const s = await api<{ readings: number }>('GET', `/api/buckets/${bucket.id}/stats`);
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
