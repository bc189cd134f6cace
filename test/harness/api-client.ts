/** A tiny fetch wrapper for end-to-end tests: JSON in, {status, body, headers} out. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies; each assertion checks the shape it needs
export interface ApiResponse<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

export interface ApiCall {
  token?: string;
  apiKey?: string;
  body?: unknown;
  rawBody?: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
}

export function createApiClient(baseUrl: string) {
  // biome-ignore lint/suspicious/noExplicitAny: see ApiResponse
  return async function api<T = any>(method: string, path: string, call: ApiCall = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...call.headers };
    if (call.token) headers.authorization = `Bearer ${call.token}`;
    if (call.apiKey) headers['x-api-key'] = call.apiKey;
    let body: string | Uint8Array | undefined;
    if (call.rawBody !== undefined) {
      body = call.rawBody;
      if (call.contentType) headers['content-type'] = call.contentType;
    } else if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers['content-type'] = call.contentType ?? 'application/json';
    }
    const res = await fetch(baseUrl + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, body: parsed as T, text, headers: res.headers };
  };
}

export type Api = ReturnType<typeof createApiClient>;
