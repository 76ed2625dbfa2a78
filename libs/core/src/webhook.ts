import type { FinalStatus } from './job';

/** What a webhook announces: a job reaching each final status, and a submission whose every job has ended. */
export const WEBHOOK_EVENTS = ['job.completed', 'job.failed', 'job.timed_out', 'job.cancelled', 'submission.completed'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** The event of a job that ended with `status` (the database's trigger writes the same: 'job.' || status). */
export function jobEvent(status: FinalStatus): WebhookEvent {
  return `job.${status}`;
}

/** Delivery workflows and their one activity: served by every worker process, whatever engines it runs. */
export const WEBHOOK_QUEUE = 'menagerie.webhooks';
export const WEBHOOK_WORKFLOW_TYPE = 'webhookDelivery';

/** One workflow per delivery, never reused: a start repeated after a crash finds the one already started. */
export function webhookWorkflowIdFor(deliveryId: string): string {
  return `webhook-${deliveryId}`;
}

/** How a delivery is retried: exponential from `initialSeconds`, capped at `maxIntervalSeconds`, given up after `giveUpSeconds`. */
export interface WebhookRetry {
  initialSeconds: number;
  maxIntervalSeconds: number;
  giveUpSeconds: number;
}

/** The activity's failures no retry can mend (ApplicationFailure types): the workflow records the delivery failed at once. */
export const WEBHOOK_NON_RETRYABLE = ['WebhookAddressRefused', 'WebhookReceiverGone', 'WebhookDeliveryMissing'];

export interface WebhookDeliveryInput {
  deliveryId: string;
  retry: WebhookRetry;
}

export const WEBHOOK_SIGNATURE_HEADER = 'X-Menagerie-Signature';
export const WEBHOOK_EVENT_HEADER = 'X-Menagerie-Event';
export const WEBHOOK_DELIVERY_HEADER = 'X-Menagerie-Delivery';

function ipv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = parts.map((p) => (/^(0|[1-9]\d{0,2})$/.test(p) ? Number(p) : NaN));
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : null;
}

/** The eight 16-bit groups of an IPv6 address (a trailing dotted IPv4 and "::" included), or null. */
function ipv6(text: string): number[] | null {
  let rest = text.replace(/%.*$/, ''); // a zone (fe80::1%eth0) names an interface, not an address
  let tail: number[] = [];
  if (rest.includes('.')) {
    const cut = rest.lastIndexOf(':');
    const v4 = ipv4(rest.slice(cut + 1));
    if (!v4) return null;
    tail = [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]];
    rest = rest.slice(0, cut + 1);
    if (!rest.endsWith('::')) rest = rest.slice(0, -1);
  }
  const group = (g: string) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN);
  const halves = rest.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':').map(group) : [];
  const back = halves.length === 2 && halves[1] ? halves[1].split(':').map(group) : [];
  if ([...head, ...back].some((g) => Number.isNaN(g))) return null;
  const given = head.length + back.length + tail.length;
  if (halves.length === 1) return given === 8 ? [...head, ...tail] : null;
  if (given > 7) return null;
  return [...head, ...new Array<number>(8 - given).fill(0), ...back, ...tail];
}

function v4Refusal([a, b, c]: number[]): string | null {
  if (a === 0) return 'an unspecified ("this network") address';
  if (a === 127) return 'a loopback address';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'a private address';
  if (a === 169 && b === 254) return 'a link-local address';
  if (a === 100 && b >= 64 && b <= 127) return 'a shared (carrier-grade NAT) address';
  if (a === 192 && b === 0 && c === 0) return 'a protocol-assignment address';
  if (a === 198 && (b === 18 || b === 19)) return 'a benchmarking address';
  if (a >= 224) return a < 240 ? 'a multicast address' : 'a reserved address';
  return null;
}

/**
 * Why the server must not call `ip` on behalf of whoever gave a callback URL,
 * or null when it may: loopback, private, link-local, unique-local,
 * unspecified, multicast and reserved addresses, in IPv4 and IPv6 (and IPv4
 * inside IPv6: mapped, compatible, NAT64) are internal. Anything that is not
 * an IP address is refused too. The one rule the API (accepting a callback)
 * and the worker (connecting, for each attempt) both apply.
 */
export function addressRefusal(ip: string): string | null {
  const v4 = ipv4(ip);
  if (v4) return v4Refusal(v4);
  const g = ipv6(ip.replace(/^\[|\]$/g, ''));
  if (!g) return `"${ip}" is not an IP address`;
  const embedded = [(g[6] >> 8) & 255, g[6] & 255, (g[7] >> 8) & 255, g[7] & 255];
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeros(8)) return 'an unspecified address';
  if (zeros(7) && g[7] === 1) return 'a loopback address';
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible, deprecated), 64:ff9b::a.b.c.d (NAT64): the IPv4 address is what is reached.
  if ((zeros(5) && g[5] === 0xffff) || zeros(6) || (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0))) {
    return v4Refusal(embedded);
  }
  if ((g[0] & 0xfe00) === 0xfc00) return 'a unique-local address';
  if ((g[0] & 0xffc0) === 0xfe80) return 'a link-local address';
  if ((g[0] & 0xffc0) === 0xfec0) return 'a site-local address';
  if ((g[0] & 0xff00) === 0xff00) return 'a multicast address';
  return null;
}

/**
 * Whether `url` is under `prefix`: same scheme, host and port (compared
 * parsed, so "https://a.example" never lets "https://a.example.evil.net" in),
 * and a path that starts with the prefix's (end it with "/" to allow only
 * what is inside a folder), compared percent-decoded. A path with an encoded
 * separator (%2F, %5C) or an encoded dot segment (%2E%2E) is under no
 * prefix: a receiver that decodes it would reach what the prefix keeps out.
 */
export function urlUnderPrefix(url: string, prefix: string): boolean {
  let u: URL;
  let p: URL;
  try {
    u = new URL(url);
    p = new URL(prefix);
  } catch {
    return false;
  }
  const [path, under] = [decodedPath(u), decodedPath(p)];
  if (path === null || under === null) return false;
  return u.protocol === p.protocol && u.host === p.host && path.startsWith(under) && (p.search === '' || u.search.startsWith(p.search));
}

/** The URL's path, each segment percent-decoded; null when decoding would move it (an encoded "/" or "\\", an encoded "." or ".." segment) or fails. */
function decodedPath(url: URL): string | null {
  // (The parser has already resolved the literal dot segments and turned "\\" into "/".)
  if (/%(2f|5c)/i.test(url.pathname)) return null;
  try {
    const segments = url.pathname.split('/').map(decodeURIComponent);
    return segments.some((s) => s === '.' || s === '..') ? null : segments.join('/');
  } catch {
    return null;
  }
}

/**
 * A receiver's URL as it may be shown or logged: origin and path, without
 * its query string and fragment (which often carry the receiver's own
 * token) or user info. The one rule the API's views, its request log and the
 * worker's recorded errors follow.
 */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search || u.hash ? '?…' : ''}`;
  } catch {
    return '(not a URL)';
  }
}

/** A request's path and query as the request log keeps it: a `callback` parameter's value shown as shownUrl gives it. */
export function loggedRequestUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const parts = url
    .slice(q + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const key = eq < 0 ? part : part.slice(0, eq);
      if (safeDecode(key) !== 'callback' || eq < 0) return part;
      return `${key}=${shownUrl(safeDecode(part.slice(eq + 1).replace(/\+/g, ' ')))}`;
    });
  return `${url.slice(0, q)}?${parts.join('&')}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
