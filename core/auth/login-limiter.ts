import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { DakkioError } from '../errors.ts';

/**
 * Brute-force protection for login: failed attempts are counted per account
 * (email) and per client IP; once either budget is spent, further attempts are
 * refused with rate_limited before any password hashing happens. Backed by
 * rate-limiter-flexible so the in-memory backend can become RateLimiterRedis
 * when dakkio runs as several nodes.
 */
export interface LoginLimiter {
  /** Throws DakkioError('rate_limited') with retryAfterSeconds when either budget is spent. */
  check(account: string, ip: string): Promise<void>;
  recordFailure(account: string, ip: string): Promise<void>;
  /** A successful login clears the account's failures (the IP's count stays). */
  recordSuccess(account: string, ip: string): Promise<void>;
}

export interface LoginLimiterOptions {
  /** failures allowed per account within `windowSeconds` (default 10) */
  perAccount?: number;
  /** failures allowed per IP within `windowSeconds` (default 50) */
  perIp?: number;
  /** default 900 (15 minutes) */
  windowSeconds?: number;
}

export function createLoginLimiter(
  opts: LoginLimiterOptions = {},
  make: (o: { keyPrefix: string; points: number; duration: number }) => RateLimiterAbstract = (o) =>
    new RateLimiterMemory(o),
): LoginLimiter {
  const windowSeconds = opts.windowSeconds ?? 900;
  const accounts = make({ keyPrefix: 'login-account', points: opts.perAccount ?? 10, duration: windowSeconds });
  const ips = make({ keyPrefix: 'login-ip', points: opts.perIp ?? 50, duration: windowSeconds });

  async function spent(limiter: RateLimiterAbstract, key: string): Promise<number | null> {
    const res = await limiter.get(key);
    if (res && res.consumedPoints >= limiter.points) return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
    return null;
  }

  // A rejected consume() rejects with a RateLimiterRes (not an Error): the budget is already spent, which check() reports.
  const consume = (limiter: RateLimiterAbstract, key: string) => limiter.consume(key).then(
    () => undefined,
    (res: unknown) => {
      if (res instanceof Error) throw res;
    },
  );

  return {
    async check(account, ip) {
      const wait = Math.max((await spent(accounts, account)) ?? 0, (await spent(ips, ip)) ?? 0);
      if (wait > 0) {
        throw new DakkioError('rate_limited', 'too many failed login attempts, try again later', {
          retryAfterSeconds: wait,
        });
      }
    },
    async recordFailure(account, ip) {
      await Promise.all([consume(accounts, account), consume(ips, ip)]);
    },
    async recordSuccess(account) {
      await accounts.delete(account);
    },
  };
}
