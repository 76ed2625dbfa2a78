import { callbackKey } from '@menagerie/activities';
import type { WebhookDeliveryView } from '../../apps/api/src/webhooks/webhook.view';
import type { SubmissionView } from '../../apps/api/src/submissions/submission.view';
import { expectErrorAnswer } from '../support/api-errors';
import { docNodeVerifier as readmeNodeVerifier, docPythonVerifier as readmePythonVerifier, type Delivery } from '../support/doc-verifiers';
import { writeEnginesFile } from '../support/engines-file';
import { uploadForm } from '../support/forms';
import { body, getJob, queueBytes, waitForJob, type Job } from '../support/http';
import { scrape, total } from '../support/metrics';
import { storedOf } from '../support/stored';
import { startSystem, type System } from '../support/system';
import { until } from '../support/until';
import { parsed, Receiver, unique, verified, type Received } from '../support/webhook-receiver';

jest.setTimeout(600_000);

const TARGET_SECRET = 'target-secret-0123456789';
const CALLBACK_SECRET = 'callback-secret-0123456789';

/** What a refused callback must not leave: jobs, submissions, callbacks. */
const COUNTS = `SELECT (SELECT count(*)::int FROM jobs) AS jobs, (SELECT count(*)::int FROM submissions) AS submissions,
  (SELECT count(*)::int FROM webhook_callbacks) AS callbacks`;
const callbackKeyOf = (receiver: { url: string }) => callbackKey(CALLBACK_SECRET, receiver.url);

describe('webhooks: signed, retried, recorded', () => {
  let sys: System;
  /** Fails each delivery's first 3 attempts under /cb/flaky/ with 500; redirects under /cb/redirect/. */
  const rx = new Receiver((path, previous) => {
    if (path.startsWith('/cb/flaky/') && previous.length < 3) return { status: 500 };
    if (path.startsWith('/cb/redirect/')) return { status: 302, headers: { Location: '/cb/landing/' } };
    return { status: 200 };
  });
  /** Down (connections refused) until the test brings it up. */
  const late = new Receiver();

  beforeAll(async () => {
    await rx.listen();
    await late.reserve();
    sys = await startSystem({
      enginesFile: writeEnginesFile([
        { name: 'meta', cmd: '/engine/run.sh', cachettl: 3600 },
        { name: 'broken', cmd: ['/usr/bin/false'] },
      ]),
      settings: {
        webhooks: {
          targets: [{ url: `${rx.url}/target/`, secret: TARGET_SECRET, events: ['job.completed', 'job.failed', 'submission.completed'] }],
          callbackAllow: [`${rx.url}/cb/`, `${late.url}/cb/`, `http://localhost:${rx.port}/cb/`],
          callbackSecret: CALLBACK_SECRET,
          // The test's receivers are on loopback; "localhost" (the same address by name) is not let through.
          allowPrivate: [`${rx.url}/`, `${late.url}/`],
          retry: { initialSeconds: 0.2, maxIntervalSeconds: 1, giveUpSeconds: 20 },
        },
      },
    });
  });
  afterAll(async () => {
    await sys?.stop();
    await rx.close();
    await late.close();
  });

  const deliveriesOf = async (jobId: string) => body<WebhookDeliveryView[]>(await fetch(`${sys.baseUrl}/jobs/${jobId}/webhooks`));
  const deliveredTo = (deliveries: WebhookDeliveryView[], receiver: 'target' | 'callback') =>
    deliveries.find((d) => d.receiver === receiver && d.status === 'delivered');
  function upload(engine: string, query: string, bytes: Buffer, fields: Record<string, string> = {}): Promise<Response> {
    return fetch(`${sys.baseUrl}/${engine}/upload${query}`, { method: 'POST', body: uploadForm(bytes, 'sample.bin', fields) });
  }
  /** Uploads new bytes to meta with `callback` on the query, and waits for the job to end. */
  const ranWithCallback = async (callback: string) =>
    waitForJob(sys.baseUrl, (await body<Job>(await upload('meta', `?callback=${encodeURIComponent(callback)}`, unique()))).jobid);

  it('retries a callback that fails its first 3 attempts, then delivers it signed, with the job as /result shows it; every attempt recorded', async () => {
    const res = await upload('meta', `?callback=${encodeURIComponent(`${rx.url}/cb/flaky/1`)}`, unique());
    expect(res.status).toBe(201);
    const queued = await body<Job>(res);
    const job = await waitForJob(sys.baseUrl, queued.jobid);
    expect(job.status).toBe('completed');

    const deliveries = await until('the callback to be delivered', async () => {
      const all = await deliveriesOf(job.jobid);
      return deliveredTo(all, 'callback') && deliveredTo(all, 'target') && all;
    });
    const callback = deliveredTo(deliveries, 'callback')!;
    expect(callback).toMatchObject({ event: 'job.completed', url: `${rx.url}/cb/flaky/1`, jobId: job.jobid, lastError: null });
    expect(callback.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([
      [1, 500],
      [2, 500],
      [3, 500],
      [4, 200],
    ]);
    expect(callback.attempts.slice(0, 3).map((a) => a.error)).toEqual([
      'HTTP 500: Internal Server Error',
      'HTTP 500: Internal Server Error',
      'HTTP 500: Internal Server Error',
    ]);
    for (const a of callback.attempts) expect(a.latencyMs).toBeGreaterThanOrEqual(0);

    const sent = rx.to('/cb/flaky/1');
    expect(sent.map((r) => r.status)).toEqual([500, 500, 500, 200]);
    const last = sent[3];
    expect(verified(callbackKeyOf(rx), rx.url, last)).toBe(true);
    expect(verified(TARGET_SECRET, rx.url, last)).toBe(false);
    expect(last.headers['x-menagerie-event']).toBe('job.completed');
    expect(last.headers['x-menagerie-delivery']).toBe(callback.deliveryId);
    expect(last.headers['content-type']).toBe('application/json');
    // Every attempt carries the same body and delivery id.
    expect(new Set(sent.map((r) => r.body)).size).toBe(1);
    const { event, deliveryId, ...shown } = parsed(last);
    expect({ event, deliveryId }).toEqual({ event: 'job.completed', deliveryId: callback.deliveryId });
    expect(shown).toEqual(await getJob(sys.baseUrl, job.jobid));

    // The deployment-wide target heard it too, under its own delivery id and secret.
    const target = rx.requests.filter((r) => r.path === '/target/' && parsed(r).jobid === job.jobid);
    expect(target).toHaveLength(1);
    expect(verified(TARGET_SECRET, rx.url, target[0])).toBe(true);
    expect(parsed(target[0])).toMatchObject({
      event: 'job.completed',
      deliveryId: deliveredTo(deliveries, 'target')!.deliveryId,
      status: 'completed',
    });
    // The worker counted the attempts by outcome (menagerie_webhook_deliveries_total).
    const { series } = await scrape(sys.worker!.metricsUrl!);
    const count = (outcome: string) => total(series, 'menagerie_webhook_deliveries_total', { outcome });
    expect(count('failed')).toBeGreaterThanOrEqual(3);
    expect(count('delivered')).toBeGreaterThanOrEqual(2);
  });

  it('tells the deployment-wide target job.failed for a failing engine, and job.completed for a cache hit recorded at upload', async () => {
    const failed = await waitForJob(sys.baseUrl, (await queueBytes(sys.baseUrl, 'broken', unique())).jobid);
    expect(failed.status).toBe('failed');
    await until('job.failed at the target', async () => deliveredTo(await deliveriesOf(failed.jobid), 'target'));
    const heard = rx.requests.filter((r) => r.path === '/target/' && parsed(r).jobid === failed.jobid);
    expect(heard.map((r) => [parsed(r).event, parsed(r).status, r.headers['x-menagerie-event']])).toEqual([
      ['job.failed', 'failed', 'job.failed'],
    ]);
    expect(verified(TARGET_SECRET, rx.url, heard[0])).toBe(true);

    // A hit never changes status after its insert: the trigger on the insert writes its event.
    const bytes = unique();
    expect((await waitForJob(sys.baseUrl, (await queueBytes(sys.baseUrl, 'meta', bytes)).jobid)).status).toBe('completed');
    const hit = await until('an identical upload served from the cache', async () => {
      const again = await queueBytes(sys.baseUrl, 'meta', bytes);
      return again.cached && again;
    });
    await until('the hit announced', async () => deliveredTo(await deliveriesOf(hit.jobid), 'target'));
    const announced = rx.requests.filter((r) => r.path === '/target/' && parsed(r).jobid === hit.jobid).map(parsed);
    expect(announced).toEqual([expect.objectContaining({ event: 'job.completed', cached: true, cachedFrom: hit.cachedFrom })]);
  });

  it('announces submission.completed once per submission, to its callback and the target, after each of its jobs', async () => {
    const submit = async (n: number) => {
      const form = uploadForm(unique(), 'sample.bin', { callback: `${rx.url}/cb/sub/${n}` });
      const res = await fetch(`${sys.baseUrl}/submit?engines=meta,broken`, { method: 'POST', body: form });
      expect(res.status).toBe(201);
      return body<SubmissionView>(res);
    };
    // Several at once, so that two jobs of one submission may well end in concurrent transactions.
    const submissions = await Promise.all([1, 2, 3].map(submit));
    for (const [i, s] of submissions.entries()) {
      const path = `/cb/sub/${i + 1}`;
      const events = await until(`submission ${i + 1}'s three events`, async () => {
        const heard = rx.to(path).map(parsed);
        return heard.length >= 3 && heard;
      });
      const ended = await body<SubmissionView>(await fetch(`${sys.baseUrl}/submission/${s.submissionId}`));
      expect(ended.status).toBe('completed_with_failures');
      expect(events.map((e) => e.event).sort()).toEqual(['job.completed', 'job.failed', 'submission.completed']);
      const done = events.find((e) => e.event === 'submission.completed')!;
      const { event: _e, deliveryId: _d, ...shown } = done;
      expect(shown).toEqual(ended);
      expect(rx.to(path).every((r) => verified(callbackKeyOf(rx), rx.url, r))).toBe(true);

      const recorded = await until('every delivery of the submission ended', async () => {
        const all = await body<WebhookDeliveryView[]>(await fetch(`${sys.baseUrl}/submission/${s.submissionId}/webhooks`));
        return all.length === 6 && all.every((d) => d.status === 'delivered') && all;
      });
      // The callback: both jobs' events and the submission's; the target: job.completed, job.failed and submission.completed.
      expect(
        recorded
          .filter((d) => d.event === 'submission.completed')
          .map((d) => d.receiver)
          .sort(),
      ).toEqual(['callback', 'target']);
      const atTarget = rx.requests.filter((r) => r.path === '/target/' && parsed(r).submissionId === s.submissionId);
      expect(atTarget.map((r) => parsed(r).event)).toEqual(['submission.completed']);
      const [row] = await sys.db.query(
        `SELECT count(*)::int AS n FROM webhook_events WHERE submission_id = $1 AND event = 'submission.completed'`,
        [s.submissionId],
      );
      expect(row.n).toBe(1);
    }
  });

  it("can't be replayed or passed on: the README's Node and Python verifiers take a delivery once, and only at the receiver it was signed for", async () => {
    const res = await upload('meta', `?callback=${encodeURIComponent(`${rx.url}/cb/replayed`)}`, unique());
    expect(res.status).toBe(201);
    const job = await waitForJob(sys.baseUrl, (await body<Job>(res)).jobid, 120_000);
    await until('the callback delivered', async () => deliveredTo(await deliveriesOf(job.jobid), 'callback'));
    const [sent] = rx.to('/cb/replayed');
    const target = rx.requests.find((r) => r.path === '/target/' && parsed(r).jobid === job.jobid)!;
    const as = (r: Received, key: string, url: string, headers = r.headers): Delivery => ({ key, url, body: r.body, headers });
    const cases: Delivery[] = [
      as(sent, callbackKeyOf(rx), `${rx.url}/cb/replayed`),
      // Captured and sent again, under a delivery header of the attacker's choosing: a repeat.
      as(sent, callbackKeyOf(rx), `${rx.url}/cb/replayed`, { ...sent.headers, 'x-menagerie-delivery': 'a-new-delivery-id' }),
      // Passed on to another receiver, with its own key: refused.
      as(sent, callbackKeyOf(late), `${late.url}/cb/replayed`),
      // ...or on the same origin (the same key) but at another URL: refused, the URL is signed.
      as(sent, callbackKeyOf(rx), `${rx.url}/cb/elsewhere`),
      // The deployment-wide target's delivery, under the target's secret, at a callback's URL: refused.
      as(target, TARGET_SECRET, `${rx.url}/cb/replayed`),
      as(target, TARGET_SECRET, `${rx.url}/target/`),
    ];
    const expected = ['new', 'repeat', 'refused', 'refused', 'refused', 'new'];
    expect(readmeNodeVerifier(cases)).toEqual(expected);
    expect(readmePythonVerifier(cases)).toEqual(expected);
    // The key is the one scripts/webhook-key.sh prints: callbackSecret never leaves the deployment.
    expect(sent.headers['x-menagerie-signature']).not.toContain(CALLBACK_SECRET);
  });

  it('refuses a callback under no allowed prefix with 400 CALLBACK_NOT_ALLOWED, on the query or in the form, and keeps nothing', async () => {
    const counts = async () => (await sys.db.query(COUNTS))[0];
    const before = { counts: await counts(), stored: (await storedOf(sys.config).ids()).sort() };
    const elsewhere = 'https://evil.example.net/hook';
    const answers = [
      await upload('meta', `?callback=${encodeURIComponent(elsewhere)}`, unique()),
      await upload('meta', '', unique(), { callback: elsewhere }),
      await upload('meta', '', unique(), { callback: `${rx.url}/target/` }), // the right host, outside the prefix
      await upload('meta', '', unique(), { callback: `${rx.url}/cb.evil/` }),
      await fetch(`${sys.baseUrl}/submit?engines=meta&callback=${encodeURIComponent(elsewhere)}`, {
        method: 'POST',
        body: uploadForm(unique(), 'x.bin'),
      }),
      await fetch(`${sys.baseUrl}/submit?engines=meta`, {
        method: 'POST',
        body: uploadForm(unique(), 'x.bin', { callback: 'gopher://x/' }),
      }),
    ];
    for (const res of answers) expect((await expectErrorAnswer(res, 400, 'CALLBACK_NOT_ALLOWED')).message).toMatch(/nothing was kept/);
    expect({ counts: await counts(), stored: (await storedOf(sys.config).ids()).sort() }).toEqual(before);
  });

  it('refuses an allowed prefix whose host resolves to a loopback address when allowPrivate does not name it', async () => {
    const refused = await upload('meta', `?callback=${encodeURIComponent(`http://localhost:${rx.port}/cb/x`)}`, unique());
    expect((await expectErrorAnswer(refused, 400, 'CALLBACK_NOT_ALLOWED')).message).toMatch(
      /host localhost resolves to (127\.0\.0\.1|::1), a loopback address/,
    );
  });

  it('delivers to a receiver that was down for a while once it is back, exactly once', async () => {
    const job = await ranWithCallback(`${late.url}/cb/late`);
    expect(job.status).toBe('completed');
    const failing = await until('three refused attempts', async () => {
      const d = (await deliveriesOf(job.jobid)).find((x) => x.receiver === 'callback');
      return d && d.attempts.length >= 3 && d;
    });
    expect(failing.status).toBe('delivering');
    expect(failing.attempts.every((a) => a.statusCode === null && /ECONNREFUSED/.test(a.error ?? ''))).toBe(true);

    await late.listen(late.port);
    const delivered = await until('the late delivery', async () => deliveredTo(await deliveriesOf(job.jobid), 'callback'));
    expect(late.requests).toHaveLength(1);
    expect(late.requests[0].headers['x-menagerie-delivery']).toBe(delivered.deliveryId);
    expect(verified(callbackKeyOf(late), late.url, late.requests[0])).toBe(true);
    expect(delivered.attempts.at(-1)?.statusCode).toBe(200);
  });

  it('does not follow a redirect: each attempt is a failure, recorded, until the delivery is given up', async () => {
    const job = await ranWithCallback(`${rx.url}/cb/redirect/1`);
    const given = await until(
      'the redirected delivery given up',
      async () => {
        const d = (await deliveriesOf(job.jobid)).find((x) => x.receiver === 'callback');
        return d?.status === 'failed' && d;
      },
      120_000,
    );
    expect(given.attempts.length).toBeGreaterThanOrEqual(2);
    expect(given.attempts.every((a) => a.statusCode === 302 && a.error === 'HTTP 302: redirect not followed')).toBe(true);
    expect(given.lastError).toMatch(/redirect not followed/);
    expect(rx.to('/cb/landing/')).toHaveLength(0);
    // The job itself is untouched by its webhooks.
    expect((await getJob(sys.baseUrl, job.jobid)).status).toBe('completed');
  });
});
