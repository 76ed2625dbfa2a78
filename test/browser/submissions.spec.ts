import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { SubmissionView } from '../../apps/api/src/submissions/submission.view';
import { expectErrorAnswer } from '../support/api-errors';
import { launchBrowser, screenshots, type Browser } from '../support/browser';
import { submissionEnginesFile } from '../support/console-engines';
import {
  chooseUpload,
  dropExpectedStatus,
  expectFitsBothWidths,
  expectNameShownLiterally,
  expectNoInlineCode,
  jobPageEnds,
  JOB_PATH,
  SUBMISSION_PATH,
} from '../support/console-page';
import { FIXTURES } from '../support/env';
import { body, type Job } from '../support/http';
import { startSystem, type System } from '../support/system';

jest.setTimeout(240_000);

// Functions given to page.evaluate / waitForFunction run in the browser; the tests compile without the DOM lib.
declare const document: any;

describe('admin console: submissions and the cache', () => {
  let sys: System;
  let browser: Browser;
  let page: Page;
  const apk = readFileSync(join(FIXTURES, 'sample.apk'));
  const apkSha = createHash('sha256').update(apk).digest('hex');
  const apkFile = (name: string) => ({ name, mimeType: 'application/vnd.android.package-archive', buffer: apk });

  beforeAll(async () => {
    [sys, browser] = await Promise.all([startSystem({ enginesFile: submissionEnginesFile() }), launchBrowser()]);
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
  });
  afterEach(() => {
    // No uncaught error, console error (a CSP violation is one) or dialog on any page.
    const problems = browser.problems.splice(0); // each test answers for its own
    expect(problems).toEqual([]);
  });

  const url = (path: string) => `${sys.baseUrl}${path}`;
  /** Drops the browser's own log line of an error status the test asked for; any other problem stays. */
  const expected = (status: number) => dropExpectedStatus(browser.problems, status);
  const submissionOf = async (id: string) => body<SubmissionView>(await fetch(url(`/submission/${id}`)));

  it('serves the submission page and its script under the console CSP, and checks the id', async () => {
    const res = await fetch(url('/console/submissions/3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/console/assets/submission.js"></script>');
    expectNoInlineCode(html);
    expect((await fetch(url('/console/assets/submission.js'))).status).toBe(200);
    await expectErrorAnswer(await fetch(url('/console/submissions/not-a-uuid')), 400, 'INVALID_SUBMISSION_ID');

    // An unknown one: the page says so.
    await page.goto(url('/console/submissions/3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90'));
    await page.waitForFunction(() => document.getElementById('sub-name')?.textContent === 'No such submission');
    expect(await page.locator('#error').textContent()).toMatch(/^SUBMISSION_NOT_FOUND: /);
    expected(404); // GET /submission/<id>'s answer, which the browser logs
  });

  it('uploads the APK to apktool and filemeta, and the submission page follows both jobs to completed', async () => {
    await chooseUpload(page, sys.baseUrl, 'several', apkFile('sample.apk'), ['apktool', 'filemeta']);
    expect(page.url()).toMatch(/[?&]engines=apktool%2Cfilemeta$/);
    expect(await page.locator('#one-engine').isHidden()).toBe(true);
    expect(await page.locator('#engine-hint').textContent()).toBe('2 engines: apktool, filemeta; the file is sent once.');
    await screenshots(page, 'upload-several');
    // What each engine takes shows where an engine says (GET /engines' accepts).
    expect(await page.locator('#engine-checks label[data-engine="textonly"]').getAttribute('title')).toBe(
      'accepts types matching /^text//',
    );
    await page.click('#submit');
    await page.waitForURL(SUBMISSION_PATH);
    const id = SUBMISSION_PATH.exec(page.url())![1];

    // Live: the page reaches the end by itself.
    await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
    expect(await page.getAttribute('body', 'data-status')).toBe('completed');
    const submission = await submissionOf(id);
    expect(submission.status).toBe('completed');
    expect(submission.requested).toBe('apktool,filemeta');
    expect(await page.locator('#sub-name').textContent()).toBe('sample.apk');
    expect(await page.locator('#sub-line .badge').textContent()).toBe('Completed');
    expect(await page.locator('[data-field="sha256"] dd').textContent()).toContain(apkSha);
    expect(await page.locator('[data-field="size"] dd').textContent()).toContain(`(${apk.length.toLocaleString('en')} bytes)`);
    expect(await page.locator('[data-field="mime"] dd').textContent()).toBe(submission.input.mime);
    expect(await page.locator('.counter[data-count="total"] strong').textContent()).toBe('2');
    expect(await page.locator('.counter[data-count="completed"] strong').textContent()).toBe('2');
    expect(await page.locator('#cancel').isHidden()).toBe(true);

    // One row per engine, each its job, completed, linked to its page and its result.
    const rows = page.locator('#rows tr');
    expect(await rows.evaluateAll((trs) => trs.map((tr: any) => [tr.dataset.engine, tr.dataset.status, tr.dataset.jobid]))).toEqual(
      submission.jobs.map((j) => [j.engine, 'completed', j.jobid]),
    );
    expect(submission.jobs.map((j) => j.engine)).toEqual(['apktool', 'filemeta']);
    for (const job of submission.jobs) {
      const row = page.locator(`#rows tr[data-jobid="${job.jobid}"]`);
      expect(await row.locator('a.job-link').getAttribute('href')).toBe(`/console/jobs/${job.jobid}`);
      const download = row.locator('td.result a.download');
      expect(await download.getAttribute('href')).toBe(`/link/${job.jobid}`);
      expect(await download.textContent()).toMatch(new RegExp(`^${job.result!.name.replace(/\./g, '\\.')} · [\\d.]+ [kMG]?B$`));
      const served = await fetch(url(`/link/${job.jobid}`));
      expect([job.engine, served.status]).toEqual([job.engine, 200]);
      expect(Number((await served.arrayBuffer()).byteLength)).toBe(job.result!.size);
    }
    await screenshots(page, 'submission');
    await expectFitsBothWidths(page);

    // From the submission to a job, and from the job back to the submission.
    const apktool = submission.jobs[0];
    await page.click(`#rows tr[data-jobid="${apktool.jobid}"] a.job-link`);
    await page.waitForURL(url(`/console/jobs/${apktool.jobid}`));
    expect(await jobPageEnds(page)).toBe('completed');
    expect(await page.locator('#crumb-submission').isVisible()).toBe(true);
    expect(await page.locator('[data-field="submission"] a').textContent()).toBe(id);
    expect(await page.locator('[data-field="mime"] dd').textContent()).toBe(submission.input.mime);
    await page.click('#submission-link');
    await page.waitForURL(url(`/console/submissions/${id}`));
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.locator('#rows tr').count()).toBe(2);
  });

  it('auto runs the engines that accept the file, served from the cache, and says so on each row', async () => {
    await chooseUpload(page, sys.baseUrl, 'auto', apkFile('again.apk'));
    expect(page.url()).toMatch(/[?&]engines=auto$/);
    await page.click('#submit');
    await page.waitForURL(SUBMISSION_PATH);
    const id = SUBMISSION_PATH.exec(page.url())![1];
    await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
    const submission = await submissionOf(id);
    expect(submission.requested).toBe('auto');
    const engines = submission.jobs.map((j) => j.engine);
    expect(engines).toEqual(expect.arrayContaining(['apktool', 'filemeta']));
    expect(engines).not.toContain('textonly'); // it accepts text only
    expect(await page.locator('#rows tr').evaluateAll((trs) => trs.map((tr: any) => tr.dataset.engine))).toEqual(engines);
    // The same bytes went to both engines before: both are hits, marked on their rows and counted.
    for (const job of submission.jobs.filter((j) => ['apktool', 'filemeta'].includes(j.engine))) {
      expect([job.engine, job.cached]).toEqual([job.engine, true]);
      const row = page.locator(`#rows tr[data-jobid="${job.jobid}"]`);
      expect(await row.getAttribute('data-cached')).toBe('true');
      expect(await row.locator('.badge.cached').textContent()).toBe('Cached');
      expect(await row.locator('.cell-note a').getAttribute('href')).toBe(`/console/jobs/${job.cachedFrom}`);
    }
    expect(Number(await page.locator('.counter[data-count="cached"] strong').textContent())).toBe(submission.summary.cached);
    expect(await page.locator('[data-field="requested"] dd').textContent()).toBe('auto: every engine that accepts the file');
  });

  it("shows the API's message when a named engine refuses the file", async () => {
    await chooseUpload(page, sys.baseUrl, 'several', apkFile('refused.apk'), ['filemeta', 'textonly']);
    await page.click('#submit');
    await page.waitForFunction(() => !document.getElementById('error').hidden);
    expect(await page.locator('#error').textContent()).toMatch(/^ENGINE_REFUSES_TYPE: .*textonly/);
    expect(page.url()).toContain('/console/upload');
    expect(await page.locator('#submit').isDisabled()).toBe(false); // the form is usable again
    expected(422); // POST /submit's answer, which the browser logs
  });

  it('a second identical upload to one engine shows Cached and the job it was served from; force runs again', async () => {
    const file = { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('menagerie cache test: the same bytes twice\n') };
    const uploadOne = async (force = false): Promise<string> => {
      await chooseUpload(page, sys.baseUrl, 'one', file, ['filemeta']);
      if (force) await page.check('#force');
      await page.click('#submit');
      await page.waitForURL(JOB_PATH);
      return JOB_PATH.exec(page.url())![1];
    };

    const first = await uploadOne();
    expect(await jobPageEnds(page)).toBe('completed');
    expect(await page.locator('#job-sub .badge.cached').count()).toBe(0);
    expect(await page.locator('#temporal').count()).toBe(1);
    expect(await page.locator('#cache-note').isHidden()).toBe(true);
    expect(await page.locator('#crumb-submission').isHidden()).toBe(true); // a plain upload has no submission
    expect(await page.locator('[data-field="mime"] dd').textContent()).toMatch(/^text\/plain/);

    const second = await uploadOne();
    expect(second).not.toBe(first);
    expect(await jobPageEnds(page)).toBe('completed');
    expect(await page.locator('#job-sub .badge.cached').textContent()).toBe('Cached');
    expect(await page.locator('#cache-note').isVisible()).toBe(true);
    expect(await page.locator('#cached-from').textContent()).toBe(first);
    expect(await page.locator('#cached-from').getAttribute('href')).toBe(`/console/jobs/${first}`);
    expect(await page.locator('.step[data-step="running"] .step-note').textContent()).toBe('no container ran: served from the cache');
    expect(await page.locator('#temporal').count()).toBe(0); // served at upload: it never had a workflow
    await screenshots(page, 'job-cached');
    // Its result is the first job's, byte for byte.
    const [a, b] = await Promise.all([first, second].map(async (id) => Buffer.from(await (await fetch(url(`/link/${id}`))).arrayBuffer())));
    expect(b.equals(a)).toBe(true);

    const forced = await uploadOne(true);
    expect(await jobPageEnds(page)).toBe('completed');
    const forcedJob = await body<Job>(await fetch(url(`/result/${forced}`)));
    expect([forcedJob.forced, forcedJob.cached]).toEqual([true, false]);
    expect(await page.locator('#job-sub .badge.cached').count()).toBe(0);
    expect(await page.locator('[data-field="cache"] dd').textContent()).toBe('bypassed: run again on request (force)');

    // The jobs list marks the hit, and only it.
    await page.goto(url('/console/jobs?engine=filemeta'));
    await page.waitForSelector(`#rows tr[data-jobid="${forced}"]`);
    expect(await page.locator(`#rows tr[data-jobid="${second}"] .badge.cached`).textContent()).toBe('Cached');
    expect(await page.locator(`#rows tr[data-jobid="${first}"] .badge.cached`).count()).toBe(0);
    expect(await page.locator(`#rows tr[data-jobid="${forced}"] .badge.cached`).count()).toBe(0);
    await screenshots(page, 'jobs-cached');
  });

  it('shows each job live as it ends, and Cancel remaining stops the one still running', async () => {
    // A name that would run script if it were written into the page as HTML.
    const hostile = '<img src=x onerror=alert(1)>.txt';
    const file = { name: hostile, mimeType: 'text/plain', buffer: Buffer.from(`a file for filemeta and sleepy ${Date.now()}\n`) };
    await chooseUpload(page, sys.baseUrl, 'several', file, ['filemeta', 'sleepy']);
    await page.click('#submit');
    await page.waitForURL(SUBMISSION_PATH);
    const id = SUBMISSION_PATH.exec(page.url())![1];
    // filemeta ends while sleepy runs: the page shows it without a reload, the submission still running.
    await page.waitForSelector('#rows tr[data-engine="filemeta"][data-status="completed"]', { timeout: 60_000 });
    await page.waitForSelector('#rows tr[data-engine="sleepy"][data-status="running"]', { timeout: 60_000 });
    expect(await page.getAttribute('body', 'data-status')).toBe('running');
    expect(await page.locator('#live').isVisible()).toBe(true);
    await expectNameShownLiterally(page, '#sub-name', hostile);
    expect(await page.locator('#rows tr[data-engine="sleepy"] td.result').textContent()).toBe('not yet');
    await screenshots(page, 'submission-running');

    await page.click('#cancel');
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    expect(await page.getAttribute('body', 'data-status')).toBe('completed_with_failures');
    expect(await page.locator('#sub-line .badge').textContent()).toBe('Completed with failures');
    expect(await page.locator('#rows tr[data-engine="sleepy"]').getAttribute('data-status')).toBe('cancelled');
    expect(await page.locator('.counter[data-count="cancelled"] strong').textContent()).toBe('1');
    expect(await page.locator('#cancel').isHidden()).toBe(true);
    const submission = await submissionOf(id);
    expect(submission.status).toBe('completed_with_failures');
    expect(submission.jobs.map((j) => [j.engine, j.status])).toEqual([
      ['filemeta', 'completed'],
      ['sleepy', 'cancelled'],
    ]);
  });

  it('runs an ended job again from its page (Run again), and links the two jobs both ways', async () => {
    const form = new FormData();
    form.append('upload', new Blob([`run me twice ${Date.now()}`]), 'twice.txt');
    const first = await body<Job>(await fetch(url('/filemeta/upload'), { method: 'POST', body: form }));
    await page.goto(url(`/console/jobs/${first.jobid}`));
    expect(await jobPageEnds(page)).toBe('completed');
    expect(await page.locator('#retry-note').isHidden()).toBe(true);

    await Promise.all([
      page.waitForURL((u) => JOB_PATH.test(u.pathname) && !u.pathname.endsWith(first.jobid)),
      page.locator('#retry').click(),
    ]);
    const second = JOB_PATH.exec(page.url())![1];
    expect(await jobPageEnds(page)).toBe('completed');
    expect(await page.locator('#retry-of').getAttribute('href')).toBe(`/console/jobs/${first.jobid}`);
    expect(await page.locator('#job-sub .badge.cached').count()).toBe(0); // it ran: a retry does not ask the cache

    await page.goto(url(`/console/jobs/${first.jobid}`));
    await jobPageEnds(page);
    expect(await page.locator('#retried-as').getAttribute('href')).toBe(`/console/jobs/${second}`);
  });
});
