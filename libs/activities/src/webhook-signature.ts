import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** HKDF's salt for callback keys: naming the scheme, so that another can derive keys of its own. */
const CALLBACK_KEY_SALT = 'menagerie-webhook-v1';

/**
 * The key that signs deliveries to a callback: HKDF-SHA256 of
 * `webhooks.callbackSecret`, for the callback URL's origin (scheme, host and
 * port), as 64 hex characters. Each receiver gets its own key (an operator
 * hands it over: scripts/webhook-key.sh prints it), so one receiver can
 * neither forge nor pass on deliveries that another would accept; the
 * secret itself never leaves the deployment.
 *
 * Any HKDF gives it, e.g.
 * `openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt key:<secret> -kdfopt salt:menagerie-webhook-v1 -kdfopt info:<origin> HKDF`.
 */
export function callbackKey(callbackSecret: string, url: string): string {
  return Buffer.from(hkdfSync('sha256', callbackSecret, CALLBACK_KEY_SALT, new URL(url).origin, 32)).toString('hex');
}

/**
 * `X-Menagerie-Signature`: `t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<url>.<body>")>`.
 * `v1` names the scheme, so a second can be sent beside it later. The URL
 * the delivery is posted to is signed, so a delivery passed on to another
 * receiver does not verify there; the body carries the delivery id, so
 * that too is signed.
 */
export function signWebhook(key: string, url: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', key).update(`${unixSeconds}.${url}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * What a receiver does (docs/api.md, Verifying a delivery): the header's `t` must be within
 * `toleranceSeconds` of now (a replay of an old delivery is refused), and
 * one of its `v1` must be the HMAC of `t`, its own URL and the body under its
 * key, compared in constant time. (De-duplicating on the body's deliveryId
 * is then the receiver's, within the same window.)
 */
export function verifyWebhook(key: string, url: string, body: string, header: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parts = header.split(',').map((p) => p.trim().split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(key, url, body, t).split('v1=')[1], 'hex');
  return parts
    .filter(([k, v]) => k === 'v1' && /^[0-9a-f]{64}$/.test(v ?? ''))
    .some(([, v]) => timingSafeEqual(Buffer.from(v, 'hex'), expected));
}
