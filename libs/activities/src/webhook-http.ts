import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest, STATUS_CODES, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';

export interface WebhookPostLimits {
  /** The whole exchange, from connecting to the last byte read. */
  timeoutMs: number;
  /** More of the answer is never read. */
  maxResponseBytes: number;
  /** Why the address the host resolves to must not be called, or null (for each address, at each connection). */
  refuseAddress: (ip: string) => string | null;
}

export interface WebhookPostOutcome {
  delivered: boolean;
  /** The address was refused: retrying will not help. */
  refused: boolean;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

class AddressRefused extends Error {}

/** dns.lookup, refusing any answer `refuse` names: checked when the socket connects, so a DNS answer that changed since the check at acceptance (rebinding) is caught. */
export function guardedLookup(refuse: (ip: string) => string | null, lookup: typeof dnsLookup = dnsLookup): LookupFunction {
  return ((
    hostname: string,
    options: LookupOptions,
    callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as LookupAddress[];
      const bad = list.map((a) => [a.address, refuse(a.address)] as const).find(([, why]) => why);
      if (bad) return callback(new AddressRefused(`${hostname} resolves to ${bad[0]}, ${bad[1]}`) as NodeJS.ErrnoException, '', 0);
      if (!list.length) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      if (options.all) return callback(null, list);
      callback(null, list[0].address, list[0].family);
    });
  }) as LookupFunction;
}

/**
 * POSTs a webhook: no redirect followed (a 3xx is a failure), the whole
 * exchange bounded by `timeoutMs`, and no more than `maxResponseBytes` of the
 * answer read. Never throws: the outcome says what happened.
 */
export function postWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  limits: WebhookPostLimits,
): Promise<WebhookPostOutcome> {
  const started = process.hrtime.bigint();
  const latencyMs = () => Number((process.hrtime.bigint() - started) / 1_000_000n);
  const target = new URL(url);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  // An IP literal is never looked up, so the hook would not see it.
  const literal = isIP(host) ? limits.refuseAddress(host) : null;
  if (literal)
    return Promise.resolve({
      delivered: false,
      refused: true,
      statusCode: null,
      latencyMs: latencyMs(),
      error: `refused: ${host} is ${literal}`,
    });

  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: Omit<WebhookPostOutcome, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...outcome, latencyMs: latencyMs() });
    };
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(target, {
      method: 'POST',
      headers: {
        ...headers,
        'Content-Type': 'application/json',
        'Content-Length': String(Buffer.byteLength(body)),
        'User-Agent': 'Menagerie-Webhooks/1',
      },
      lookup: guardedLookup(limits.refuseAddress),
      agent: false,
    });
    const timer = setTimeout(() => {
      finish({ delivered: false, refused: false, statusCode: null, error: `no answer within ${limits.timeoutMs / 1000} s` });
      req.destroy();
    }, limits.timeoutMs);
    req.on('error', (err) => {
      const refused = err instanceof AddressRefused;
      finish({ delivered: false, refused, statusCode: null, error: refused ? `refused: ${err.message}` : err.message });
    });
    req.on('response', (res: IncomingMessage) => {
      const code = res.statusCode ?? 0;
      let size = 0;
      const done = () => {
        if (code >= 200 && code < 300) return finish({ delivered: true, refused: false, statusCode: code, error: null });
        // The status and a reason of our own only: what the receiver answered (its body, a Location) is never echoed to API callers.
        const why = code >= 300 && code < 400 ? 'redirect not followed' : STATUS_CODES[code];
        finish({ delivered: false, refused: false, statusCode: code, error: `HTTP ${code}${why ? `: ${why}` : ''}` });
      };
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size >= limits.maxResponseBytes) {
          done();
          res.destroy();
        }
      });
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
    req.end(body);
  });
}
