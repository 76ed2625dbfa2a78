import type { LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { callbackKey, createWebhookActivities, guardedLookup, postWebhook, signWebhook, verifyWebhook } from '@menagerie/activities';
import { callbackRefusal } from '../../apps/worker/src/webhooks';
import { parseSettings } from '@menagerie/config';
import { addressRefusal } from '@menagerie/core';

const SECRET = 'whsec_0123456789abcdef';
const BODY = '{"event":"job.completed"}';

describe('webhook signature', () => {
  const CALLBACK_SECRET = 'callback-secret-0123456789';
  const URL_A = 'https://hooks.example.com/cb?token=x';

  it("derives each callback origin's key from the callback secret with HKDF-SHA256, as openssl kdf does", () => {
    // openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt key:callback-secret-0123456789 -kdfopt salt:menagerie-webhook-v1 -kdfopt info:https://hooks.example.com HKDF
    expect(callbackKey(CALLBACK_SECRET, URL_A)).toBe('baeed1131a894107dc3548052fb6f7225fbd8826810e729e2af38e3227e40ade');
    // One key per origin: the path and query do not change it; another host or port does.
    expect(callbackKey(CALLBACK_SECRET, 'https://hooks.example.com/other')).toBe(callbackKey(CALLBACK_SECRET, URL_A));
    expect(callbackKey(CALLBACK_SECRET, 'https://hooks.example.com:8443/cb')).not.toBe(callbackKey(CALLBACK_SECRET, URL_A));
    expect(callbackKey(CALLBACK_SECRET, 'https://evil.example.net/cb')).not.toBe(callbackKey(CALLBACK_SECRET, URL_A));
  });

  it('is t=<unix>,v1=<hex HMAC-SHA256 of "t.url.body">, as openssl computes it', () => {
    const key = callbackKey(CALLBACK_SECRET, URL_A);
    // printf '%s' '1700000000.https://hooks.example.com/cb?token=x.{"event":"job.completed"}' | openssl dgst -sha256 -hmac <key>
    expect(signWebhook(key, URL_A, BODY, 1_700_000_000)).toBe(
      't=1700000000,v1=1c28ca5cf0e9d62fa45252b30782dacf993915765baaa20c49e6aa344e10ecd4',
    );
  });

  it('verifies within the window, and refuses another key, another URL, a changed body, an old or future time, and garbage', () => {
    const header = signWebhook(SECRET, URL_A, BODY, 1_700_000_000);
    expect(verifyWebhook(SECRET, URL_A, BODY, header, 1_700_000_000 + 299)).toBe(true);
    expect(verifyWebhook('another secret, long enough', URL_A, BODY, header, 1_700_000_000)).toBe(false);
    // Passed on to another receiver: its URL is not the one signed.
    expect(verifyWebhook(SECRET, 'https://hooks.example.com/other', BODY, header, 1_700_000_000)).toBe(false);
    expect(verifyWebhook(SECRET, URL_A, BODY.replace('completed', 'failed'), header, 1_700_000_000)).toBe(false);
    expect(verifyWebhook(SECRET, URL_A, BODY, header, 1_700_000_000 + 301)).toBe(false);
    expect(verifyWebhook(SECRET, URL_A, BODY, header, 1_700_000_000 - 301)).toBe(false);
    expect(verifyWebhook(SECRET, URL_A, BODY, 'v1=abc', 1_700_000_000)).toBe(false);
    expect(verifyWebhook(SECRET, URL_A, BODY, `t=1700000000,v1=${'0'.repeat(64)}`, 1_700_000_000)).toBe(false);
  });
});

describe('guardedLookup: the address rule at connection time (DNS rebinding)', () => {
  const answering = (addresses: LookupAddress[]) =>
    ((_host: string, _options: unknown, callback: (err: Error | null, addresses: LookupAddress[]) => void) =>
      callback(null, addresses)) as never;
  const ask = (lookup: ReturnType<typeof guardedLookup>, all: boolean) =>
    new Promise<{ err: Error | null; address: unknown }>((resolve) =>
      lookup('hooks.example.com', { all }, (err, address) => resolve({ err, address })),
    );

  it('refuses a host whose answer now includes an internal address', async () => {
    const lookup = guardedLookup(
      addressRefusal,
      answering([
        { address: '93.184.215.14', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ]),
    );
    const { err } = await ask(lookup, false);
    expect(err?.message).toMatch(/hooks\.example\.com resolves to 127\.0\.0\.1, a loopback address/);
    expect((await ask(guardedLookup(addressRefusal, answering([{ address: 'fd00::1', family: 6 }])), true)).err?.message).toMatch(
      /unique-local/,
    );
  });

  it('passes a public answer on, in the shape asked for', async () => {
    const lookup = guardedLookup(addressRefusal, answering([{ address: '93.184.215.14', family: 4 }]));
    expect(await ask(lookup, false)).toEqual({ err: null, address: '93.184.215.14' });
    expect(await ask(lookup, true)).toEqual({ err: null, address: [{ address: '93.184.215.14', family: 4 }] });
  });
});

describe('postWebhook', () => {
  let server: Server;
  let base: string;
  let answer: (res: import('node:http').ServerResponse) => void;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => answer(res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const limits = { timeoutMs: 2000, maxResponseBytes: 4096, refuseAddress: () => null };

  it('refuses an IP literal the rule refuses, without connecting', async () => {
    answer = () => {
      throw new Error('must not be called');
    };
    const outcome = await postWebhook(`${base}/x`, BODY, {}, { ...limits, refuseAddress: addressRefusal });
    expect(outcome).toMatchObject({ delivered: false, refused: true, statusCode: null, error: 'refused: 127.0.0.1 is a loopback address' });
  });

  it('holds a host name to the rule at connection time, through the lookup of the request', async () => {
    answer = () => {
      throw new Error('must not be called');
    };
    const outcome = await postWebhook(base.replace('127.0.0.1', 'localhost'), BODY, {}, { ...limits, refuseAddress: addressRefusal });
    expect(outcome).toMatchObject({ delivered: false, refused: true, statusCode: null });
    expect(outcome.error).toMatch(/^refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address$/);
  });

  it('does not follow a redirect, and reads no more than the limit of a long answer', async () => {
    answer = (res) => res.writeHead(302, { Location: '/elsewhere?token=secret' }).end();
    // The status and a reason of our own: neither the Location nor the receiver's body is echoed to API callers.
    expect(await postWebhook(`${base}/x`, BODY, {}, limits)).toMatchObject({
      delivered: false,
      refused: false,
      statusCode: 302,
      error: 'HTTP 302: redirect not followed',
    });
    answer = (res) => res.writeHead(500).end('internal: db password is hunter2');
    expect(await postWebhook(`${base}/x`, BODY, {}, limits)).toMatchObject({
      delivered: false,
      statusCode: 500,
      error: 'HTTP 500: Internal Server Error',
    });
    answer = (res) => {
      res.writeHead(200);
      // Endless: only the cap ends the read.
      const tick = setInterval(() => (res.destroyed ? clearInterval(tick) : res.write(Buffer.alloc(1024, 'a'))), 1);
    };
    expect(await postWebhook(`${base}/x`, BODY, {}, limits)).toMatchObject({ delivered: true, statusCode: 200, error: null });
  });

  it('gives up on a receiver that does not answer in time', async () => {
    answer = () => undefined;
    const outcome = await postWebhook(`${base}/x`, BODY, {}, { ...limits, timeoutMs: 300 });
    expect(outcome).toMatchObject({ delivered: false, statusCode: null, error: 'no answer within 0.3 s' });
  });
});

describe('webhooks settings', () => {
  const parse = (webhooks: unknown) => parseSettings('default.json', JSON.stringify({ webhooks }));

  it('defaults to nothing: no targets, no callbacks, 1 s to 10 min backoff for 24 h', () => {
    expect(parse({}).webhooks).toEqual({
      targets: [],
      callbackAllow: [],
      callbackSecret: '',
      allowPrivate: [],
      retry: { initialSeconds: 1, maxIntervalSeconds: 600, giveUpSeconds: 86_400 },
    });
    expect(parse({ targets: [{ url: 'https://hooks.example.com/x', secret: SECRET }] }).webhooks.targets[0].events).toEqual([
      'job.completed',
      'job.failed',
      'job.timed_out',
      'job.cancelled',
      'submission.completed',
    ]);
  });

  it('refuses a non-http URL, a short secret, an unknown event, a listed URL twice, and callbacks without a secret', () => {
    expect(() => parse({ targets: [{ url: 'ftp://hooks.example.com/', secret: SECRET }] })).toThrow(
      /webhooks\.targets\[0\]\.url: must be an http/,
    );
    expect(() => parse({ targets: [{ url: 'https://hooks.example.com/', secret: 'short' }] })).toThrow(/at least 16/);
    expect(() => parse({ targets: [{ url: 'https://hooks.example.com/', secret: SECRET, events: ['job.started'] }] })).toThrow(/events/);
    const twice = { url: 'https://hooks.example.com/', secret: SECRET };
    expect(() => parse({ targets: [twice, twice] })).toThrow(/listed once/);
    expect(() => parse({ callbackAllow: ['https://hooks.example.com/'] })).toThrow(/webhooks\.callbackSecret/);
    expect(() => parse({ callbackAllow: ['file:///etc/'], callbackSecret: SECRET })).toThrow(/callbackAllow/);
  });
});

describe('a callback allowlist narrowed after deliveries were queued', () => {
  const delivery = {
    id: 'd-1',
    kind: 'callback' as const,
    url: 'https://hooks.example.com/old/cb?token=s3cret',
    status: 'delivering',
    body: BODY,
    event: 'job.completed',
  };

  it('refuses, at the next attempt, a callback no longer under any prefix: recorded, and never retried', async () => {
    const attempts: Array<{ error: string | null }> = [];
    const activities = createWebhookActivities({
      webhooks: {
        delivery: async () => delivery,
        recordAttempt: async (attempt: { error: string | null }) => void attempts.push(attempt),
        markFailed: async () => undefined,
      } as never,
      keyFor: () => SECRET,
      receiverRefusal: callbackRefusal(['https://hooks.example.com/new/']),
      refuseAddress: () => () => null,
    });
    const failure = await new MockActivityEnvironment().run(activities.deliverWebhook, 'd-1').catch((err: unknown) => err);
    expect(failure).toMatchObject({ type: 'WebhookReceiverGone', nonRetryable: true });
    expect(attempts.map((a) => a.error)).toEqual([
      'https://hooks.example.com/old/cb?… is no longer under a prefix of webhooks.callbackAllow',
    ]);
  });

  it('lets a callback still under a prefix through, and never holds a configured target to the list', () => {
    const refusal = callbackRefusal(['https://hooks.example.com/old/']);
    expect(refusal('callback', delivery.url)).toBeNull();
    expect(refusal('target', 'https://elsewhere.example.com/all')).toBeNull();
    expect(callbackRefusal([])('callback', delivery.url)).toMatch(/no longer under a prefix/);
  });
});
