import { afterEach, describe, expect, it } from 'vitest';
import { startReceiver } from '../../test/helpers/webhook-receiver.ts';
import { createManualClock } from '../clock.ts';
import { isDakkioError } from '../errors.ts';
import { createIdGenerator } from '../ids.ts';
import { checkWebhookUrl, isForbiddenAddress } from './address-policy.ts';
import { createSafeFetch, guardedLookup } from './safe-fetch.ts';
import { createTestDb } from './test-db.ts';
import { createWebhookService } from './webhook-service.ts';

const fakeDns: Record<string, string[]> = {
  'hooks.example.com': ['93.184.215.14'],
  'rebind.example.com': ['93.184.215.14', '10.0.0.7'],
  'metadata.example.com': ['169.254.169.254'],
  'v6private.example.com': ['fd12:3456::1'],
};
const policy = { allowPrivate: false, resolveHost: async (h: string) => fakeDns[h] ?? [] };

async function refusal(url: string, p = policy): Promise<string | undefined> {
  try {
    await checkWebhookUrl(url, p);
    return undefined;
  } catch (err) {
    if (!isDakkioError(err)) throw err;
    expect(err.code).toBe('validation_failed');
    return err.details?.[0]?.code;
  }
}

describe('webhook URL policy (SSRF)', () => {
  it.each([
    'https://127.0.0.1/hook',
    'https://0x7f000001/hook',
    'https://2130706433/hook',
    'https://0177.0.0.1/hook',
    'https://127.1/hook',
    'https://0.0.0.0/hook',
    'https://10.1.2.3/',
    'https://172.16.0.1/',
    'https://192.168.1.1/',
    'https://169.254.169.254/latest/meta-data/',
    'https://100.64.0.1/',
    'https://224.0.0.1/',
    'https://255.255.255.255/',
    'https://[::1]/',
    'https://[::]/',
    'https://[::ffff:127.0.0.1]/',
    'https://[::ffff:10.0.0.1]/',
    'https://[fe80::1]/',
    'https://[fc00::1]/',
    'https://[ff02::1]/',
    'https://[64:ff9b::a00:1]/',
    'https://localhost/',
    'https://api.localhost/',
    'https://printer.local/',
    'https://intranet/',
    'https://metadata.example.com/',
    'https://rebind.example.com/',
    'https://v6private.example.com/',
  ])('refuses %s with webhook_url_forbidden', async (url) => {
    expect(await refusal(url)).toBe('webhook_url_forbidden');
  });

  it('accepts public https URLs', async () => {
    expect(await refusal('https://hooks.example.com/in')).toBeUndefined();
    expect(await refusal('https://93.184.215.14/in')).toBeUndefined();
    expect(await refusal('https://[2606:4700::1111]/in')).toBeUndefined();
  });

  it('requires https unless private destinations are allowed', async () => {
    expect(await refusal('http://hooks.example.com/in')).toBe('webhook_url_insecure');
    expect(await refusal('ftp://hooks.example.com/in')).toBe('webhook_url_invalid');
    expect(await refusal('not a url')).toBe('webhook_url_invalid');
    expect(await refusal('https://user:pw@hooks.example.com/')).toBe('webhook_url_invalid');
    expect(await refusal('http://127.0.0.1:8080/in', { ...policy, allowPrivate: true })).toBeUndefined();
  });

  it('classifies addresses, IPv4-mapped IPv6 included', () => {
    expect(isForbiddenAddress('8.8.8.8')).toBe(false);
    expect(isForbiddenAddress('::ffff:8.8.8.8')).toBe(false);
    expect(isForbiddenAddress('::ffff:192.168.0.1')).toBe(true);
    expect(isForbiddenAddress('fe80::1%eth0')).toBe(true);
    expect(isForbiddenAddress('garbage')).toBe(true);
  });
});

describe('delivery-time checks', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('the connect-time DNS guard refuses names resolving to loopback (rebinding)', async () => {
    const err = await new Promise<Error | null>((resolve) => guardedLookup('localhost', { all: true }, (e) => resolve(e)));
    expect(isDakkioError(err) && err.details?.[0]?.code).toBe('webhook_url_forbidden');
  });

  it('a name that resolves to loopback at delivery time (DNS rebinding) is refused before any request', async () => {
    const target = await startReceiver();
    cleanups.push(() => target.close());
    const port = new URL(target.url).port;
    const http = createSafeFetch({ allowPrivate: false, resolveAll: async () => [{ address: '127.0.0.1', family: 4 }] });
    cleanups.push(() => http.close());
    await expect(http.post(`https://rebind.example.com:${port}/x`, {}, '{}')).rejects.toMatchObject({ details: [{ code: 'webhook_url_forbidden' }] });
    const mapped = createSafeFetch({ allowPrivate: false, resolveAll: async () => [{ address: '::ffff:127.0.0.1', family: 6 }] });
    cleanups.push(() => mapped.close());
    await expect(mapped.post(`https://rebind.example.com:${port}/x`, {}, '{}')).rejects.toMatchObject({ details: [{ code: 'webhook_url_forbidden' }] });
    expect(target.received).toHaveLength(0);
  });

  it('safe fetch refuses a private literal before connecting', async () => {
    const http = createSafeFetch({ allowPrivate: false });
    cleanups.push(() => http.close());
    await expect(http.post('https://0x7f000001:1/x', {}, '{}')).rejects.toMatchObject({ code: 'validation_failed', details: [{ code: 'webhook_url_forbidden' }] });
    await expect(http.post('http://93.184.215.14/x', {}, '{}')).rejects.toMatchObject({ details: [{ code: 'webhook_url_insecure' }] });
  });

  it('webhook creation surfaces the code as a 400-class validation error', async () => {
    const db = await createTestDb();
    cleanups.push(() => db.destroy());
    const clock = createManualClock();
    const service = createWebhookService({ db, clock, ids: createIdGenerator(clock.now), allowPrivate: false, resolveHost: policy.resolveHost });
    await expect(service.create('a'.repeat(24), { url: 'https://2130706433/', events: ['alert.firing'] })).rejects.toMatchObject({
      code: 'validation_failed',
      details: [{ path: 'url', code: 'webhook_url_forbidden' }],
    });
    const ok = await service.create('a'.repeat(24), { url: 'https://hooks.example.com/in', events: ['alert.firing'] });
    await expect(service.update('a'.repeat(24), ok.webhook.id, { url: 'https://[::ffff:127.0.0.1]/' })).rejects.toMatchObject({
      details: [{ code: 'webhook_url_forbidden' }],
    });
  });
});
