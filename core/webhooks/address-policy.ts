/**
 * Which webhook destinations dakkio may call. A webhook URL is attacker-chosen
 * input that the server fetches, so everything that is not a public unicast
 * address is refused (SSRF): loopback, private, link-local, CGNAT, multicast,
 * unspecified, documentation, NAT64/6to4/Teredo and every other special range.
 * ipaddr.js does the range classification (a maintained table beats a hand-written one).
 */
import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { DakkioError } from '../errors.ts';

/** Detail codes of the validation_failed errors raised here; tests and clients key on them. */
export const WEBHOOK_URL_FORBIDDEN = 'webhook_url_forbidden';
export const WEBHOOK_URL_INSECURE = 'webhook_url_insecure';
export const WEBHOOK_URL_INVALID = 'webhook_url_invalid';

export function urlRefused(code: string, message: string): DakkioError {
  return new DakkioError('validation_failed', message, { details: [{ path: 'url', code, message }] });
}

/** True for anything but a public unicast address. Unparseable input counts as forbidden. */
export function isForbiddenAddress(address: string): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // strip an IPv6 zone id ("fe80::1%eth0") which ipaddr.js does not accept everywhere
    addr = ipaddr.parse(address.replace(/%.*$/, ''));
  } catch {
    return true;
  }
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    addr = (addr as ipaddr.IPv6).toIPv4Address();
  }
  return addr.range() !== 'unicast';
}

/** Host names that name the machine itself or a private zone, refused without a DNS lookup. */
function isLocalName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return (
    h === 'localhost' ||
    h.endsWith('.localhost') ||
    h.endsWith('.local') ||
    h.endsWith('.internal') ||
    h.endsWith('.home.arpa') ||
    !h.includes('.')
  );
}

/** The URL's host as an IP literal (brackets removed), or null when it is a name. */
export function ipLiteralOf(url: URL): string | null {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  // WHATWG URL parsing already normalised IPv4 tricks (0x7f000001, 2130706433, 0177.0.0.1, 127.1)
  return ipaddr.isValid(host) && (host.includes(':') || ipaddr.IPv4.isValidFourPartDecimal(host)) ? host : null;
}

export interface UrlPolicy {
  allowPrivate: boolean;
  /** Resolves a host name to every address; injectable for tests. Default: the OS resolver. */
  resolveHost?: (host: string) => Promise<string[]>;
}

const defaultResolve = async (host: string) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Checks a webhook URL at creation/update. Parses, enforces https (http only with
 * allowPrivate), refuses private literals and names that resolve to private
 * addresses. A name that does not resolve right now is accepted: delivery re-checks
 * the address actually connected to, so a later rebinding cannot bypass this.
 * Returns the normalised URL string.
 */
export async function checkWebhookUrl(raw: string, policy: UrlPolicy): Promise<string> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw urlRefused(WEBHOOK_URL_INVALID, 'webhook URL is not a valid absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw urlRefused(WEBHOOK_URL_INVALID, 'webhook URL must use https');
  }
  if (url.username || url.password) {
    throw urlRefused(WEBHOOK_URL_INVALID, 'webhook URL must not carry credentials');
  }
  if (policy.allowPrivate) return url.toString();
  if (url.protocol !== 'https:') {
    throw urlRefused(WEBHOOK_URL_INSECURE, 'webhook URL must use https (http needs DAKKIO_WEBHOOK_ALLOW_PRIVATE=true)');
  }
  checkHostSync(url);
  const literal = ipLiteralOf(url);
  if (literal === null) {
    let addresses: string[] = [];
    try {
      addresses = await (policy.resolveHost ?? defaultResolve)(url.hostname);
    } catch {
      addresses = [];
    }
    const bad = addresses.find(isForbiddenAddress);
    if (bad !== undefined) {
      throw urlRefused(WEBHOOK_URL_FORBIDDEN, `webhook host resolves to a non-public address (${bad})`);
    }
  }
  return url.toString();
}

/** The synchronous part of the check, repeated before every delivery attempt. */
export function checkHostSync(url: URL): void {
  const literal = ipLiteralOf(url);
  if (literal !== null) {
    if (isForbiddenAddress(literal)) {
      throw urlRefused(WEBHOOK_URL_FORBIDDEN, `webhook URL points to a non-public address (${literal})`);
    }
    return;
  }
  if (isLocalName(url.hostname)) {
    throw urlRefused(WEBHOOK_URL_FORBIDDEN, `webhook host ${url.hostname} is a local name`);
  }
}
