import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser, screenshots, type Browser } from '../support/browser';
import { expectErrorAnswer } from '../support/api-errors';
import { consoleEnginesFile } from '../support/console-engines';
import {
  CONSOLE_ASSETS,
  downloadMatchesLink,
  expectFitsBothWidths,
  expectNameShownLiterally,
  expectNoInlineCode,
  expectRunFacts,
  expectServedOn,
  expectStrictCsp,
  fileTransfer,
  jobPageEnds,
  keyCookies,
  JOB_PATH,
  liveNodeCard,
  searchJobs,
  throttleUploads,
  turnPage,
  uploadUnderWay,
} from '../support/console-page';
import { completedPreview, echoResults } from '../support/echo-results';
import { FIXTURES } from '../support/env';
import { body, uploadBytes, type Job } from '../support/http';
import { startSystem, type System } from '../support/system';

jest.setTimeout(180_000);

// Functions given to page.evaluate / waitForFunction run in the browser. The
// tests compile without the DOM lib, so its globals are declared loosely here.
declare const document: any;

const HOSTILE = '<img src=x onerror=alert(1)>.apk';
const APK = join(FIXTURES, 'sample.apk');

describe('admin console', () => {
  let sys: System;
  let browser: Browser;
  let page: Page;
  const started = Date.now();

  beforeAll(async () => {
    // Reports every 3 s (not 10): a job shows on the nodes page soon after it starts.
    [sys, browser] = await Promise.all([
      startSystem({ enginesFile: consoleEnginesFile(), settings: { node: { reportSeconds: 3 } } }),
      launchBrowser(),
    ]);
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
    process.stdout.write(`browser tests: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  });
  afterEach(() => {
    // No uncaught error, console error (a CSP violation is one) or dialog on any page.
    expect(browser.problems).toEqual([]);
  });

  const url = (path: string) => `${sys.baseUrl}${path}`;

  it('serves the console with a strict CSP and validates what it is given', async () => {
    const res = await fetch(url('/console'));
    const csp = expectStrictCsp(res);
    expectNoInlineCode(await res.text());

    for (const asset of CONSOLE_ASSETS) {
      const a = await fetch(url(`/console/assets/${asset}`));
      expect([asset, a.status]).toEqual([asset, 200]);
    }
    expect((await fetch(url('/console/assets/..%2F..%2Fpackage.json'))).status).toBe(404);
    expect((await fetch(url('/console/assets/nope.js'))).status).toBe(404);

    const badId = await fetch(url('/console/api/jobs/not-a-uuid/preview'));
    await expectErrorAnswer(badId, 400, 'INVALID_JOB_ID');
    expect(badId.headers.get('content-security-policy')).toBe(csp);
    await expectErrorAnswer(await fetch(url('/console/api/jobs/3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90/log')), 404, 'JOB_NOT_FOUND');
    expect((await fetch(url('/console/jobs/..%2F..%2Fetc'))).status).toBe(400);
    await expectErrorAnswer(await fetch(url('/console/api/jobs?status=exploded')), 400, 'INVALID_QUERY');
  });

  it('sets the key cookie Secure when the page came over HTTPS', async () => {
    await page.goto(url('/console'));
    // The console's own module, as the page loads it (the test server speaks plain HTTP, so the protocol is given).
    const cookies = await keyCookies(page);
    expect(cookies.https).toBe('menagerie_api_key=k3y%3B%20with%3Dodd%20chars; path=/; SameSite=Strict; Secure');
    expect(cookies.http).toBe('menagerie_api_key=k3y; path=/; SameSite=Strict');
    expect(cookies.here).toBe(cookies.http); // this page is http:
  });

  it('filemeta: engines page → upload with a progress bar → job page → JSON preview → download', async () => {
    await page.goto(url('/console'));
    const card = page.locator('article.engine[data-engine="filemeta"]');
    await card.waitFor();
    await expect(card.locator('.badge').textContent()).resolves.toBe('Available');
    await page.waitForSelector('.pill[data-check="storage"].ok');
    expect(await page.locator('.pill[data-check="storage"]').textContent()).toBe('Storage up');
    expect(await page.locator('.pill[data-check="docker"]').count()).toBe(0);
    expect(await page.locator('article.engine').count()).toBe(4);
    // The node that serves it, with the digest its image has there (in full in the title).
    await expectServedOn(card, sys.baseUrl, 'filemeta', sys.config.node.name);
    expect(await page.locator('article.engine[data-engine="apktool"] .mono').first().textContent()).toBe('menagerie/apktool:stable');
    await screenshots(page, 'engines');

    await card.getByRole('link', { name: 'Upload' }).click();
    await page.waitForURL(/\/console\/upload\?engine=filemeta$/);
    await page.waitForFunction(() => document.getElementById('engine').value === 'filemeta');
    // A 6 MB text file, sent through a throttled connection so the progress bar is seen moving.
    const content = `menagerie console upload test\n${'marker-line-for-filemeta\n'.repeat(250_000)}`;
    await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from(content) });
    await expect(page.locator('#file-info').textContent()).resolves.toMatch(/^notes\.txt · 6\.\d+ MB$/);
    await screenshots(page, 'upload');

    const unthrottle = await throttleUploads(browser, page, 1.5 * 1024 * 1024);
    await page.click('#submit');
    await uploadUnderWay(page);
    expect(await page.locator('#progress').isVisible()).toBe(true);
    expect(await page.locator('#abort').isVisible()).toBe(true);
    await screenshots(page, 'upload-progress');
    expect(page.url()).toContain('/console/upload'); // still uploading while both were taken
    await page.waitForURL(JOB_PATH, { timeout: 60_000 });
    await unthrottle();

    const jobId = page.url().split('/').pop()!;
    expect(await jobPageEnds(page)).toBe('completed');
    const job = await body<Job>(await fetch(url(`/result/${jobId}`)));
    expect(await page.locator('#job-name').textContent()).toBe('notes.txt');
    expect(await page.locator('[data-field="sha256"] dd').textContent()).toContain(createHash('sha256').update(content).digest('hex'));
    // The node that ran it (linked to its card on the nodes page), the digest, the exit code, the timeline with durations.
    expect(job.node).toBe(sys.config.node.name);
    await expectRunFacts(page, job, sys.config.node.name);
    // The JSON result, pretty-printed.
    expect(await page.getAttribute('#preview', 'data-kind')).toBe('json');
    const shown = (await page.locator('#preview-json').textContent())!;
    expect(shown).toBe(JSON.stringify(JSON.parse(shown), null, 2));
    expect(JSON.parse(shown)).toMatchObject({ engine: 'filemeta', size: Buffer.byteLength(content) });
    expect(shown).toContain('marker-line-for-filemeta');
    await screenshots(page, 'job-filemeta');

    const saved = await downloadMatchesLink(page, sys.baseUrl, jobId, 'notes.filemeta.json');
    expect(JSON.parse(saved.toString()).sha256).toBe(job.input.sha256);
  });

  it('apktool: drop the APK → job page → archive listing and log → download', async () => {
    const apk = readFileSync(APK);
    await page.goto(url('/console/upload'));
    await page.waitForSelector('#engine option[value="apktool"]', { state: 'attached' });
    await page.selectOption('#engine', 'apktool');
    // Dropped onto the drop zone, as a person would drag it from a file manager.
    const dataTransfer = await fileTransfer(page, { name: 'sample.apk', type: 'application/vnd.android.package-archive', bytes: apk });
    await page.dispatchEvent('#dropzone', 'dragenter', { dataTransfer });
    expect(await page.getAttribute('#dropzone', 'class')).toContain('dragging');
    await page.dispatchEvent('#dropzone', 'drop', { dataTransfer });
    await expect(page.locator('#file-info').textContent()).resolves.toBe(`sample.apk · ${(apk.length / 1000).toFixed(2)} kB`);
    await page.click('#submit');
    await page.waitForURL(JOB_PATH);
    const jobId = page.url().split('/').pop()!;

    // While it runs, the page follows it without a reload.
    await page.waitForSelector('body[data-status="running"], body[data-status="completed"]');
    expect(await jobPageEnds(page)).toBe('completed');
    expect(await page.getAttribute('#preview', 'data-kind')).toBe('archive');
    const names = await page.locator('#preview .entry-name').allTextContents();
    expect(names).toEqual(expect.arrayContaining(['AndroidManifest.xml', 'apktool.yml', 'smali/org/menagerie/sample/MainActivity.smali']));
    await screenshots(page, 'job-apktool');
    await page.fill('.entry-filter', 'MainActivity');
    expect(await page.locator('#preview .entry-name').allTextContents()).toEqual(['smali/org/menagerie/sample/MainActivity.smali']);
    await page.fill('.entry-filter', '');
    const log = (await page.locator('#log-text').textContent())!;
    expect(log).toContain('[apktool-engine]');
    expect(log).toBe(await (await fetch(url(`/console/api/jobs/${jobId}/log`))).text());

    await downloadMatchesLink(page, sys.baseUrl, jobId, 'sample.apktool.tar.gz');
  });

  it('jobs page: live updates, filters, search, pages, and a hostile file name shown literally', async () => {
    await page.goto(url('/console/jobs'));
    await page.waitForSelector('body[data-loaded="true"]');
    const before = await page.locator('#rows tr').count();
    expect(before).toBe(2);

    // Uploaded elsewhere: the open page picks it up by itself.
    const hostile = await body<Job>(await uploadBytes(sys.baseUrl, 'filemeta', 'hostile name test\n', HOSTILE));
    const row = page.locator(`#rows tr[data-jobid="${hostile.jobid}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await page.locator('#rows tr').first().getAttribute('data-jobid')).toBe(hostile.jobid);
    await page.waitForSelector(`#rows tr[data-jobid="${hostile.jobid}"][data-status="completed"]`, { timeout: 60_000 });
    // Shown as text: the name is the link's text, and no <img> was made of it.
    expect(await row.locator('a.job-link').textContent()).toBe(HOSTILE);
    expect(await page.locator('main img').count()).toBe(0);
    // Every job shows the node that ran it.
    expect(await page.locator('#rows td[data-label="Node"]').allTextContents()).toEqual(Array(3).fill(sys.config.node.name));
    await screenshots(page, 'jobs');

    // Filters.
    await page.selectOption('#engine', 'apktool');
    await page.waitForFunction(() => [...document.querySelectorAll('#rows tr')].length === 1);
    expect(page.url()).toContain('engine=apktool');
    expect(await page.locator('#rows td[data-label="Engine"]').allTextContents()).toEqual(['apktool']);
    await page.selectOption('#status', 'failed');
    await page.waitForSelector('#empty:not([hidden])');
    await page.click('#clear');
    await page.waitForFunction(() => document.querySelectorAll('#rows tr').length === 3);

    // Search by file name, by sha256 prefix; LIKE wildcards match literally.
    const apkSha = createHash('sha256').update(readFileSync(APK)).digest('hex');
    const search = (q: string, expected: string[]) => searchJobs(page, q, expected);
    await search('NOTES', ['notes.txt']);
    await search(apkSha.slice(0, 10), ['sample.apk']);
    await search('<img src=x', [HOSTILE]);
    await search('n%s', []); // would match notes.txt if `%` were a wildcard
    await search('not_s', []); // `_` is no wildcard either
    // Names are searched by parts of 3 characters or more: a shorter one filters nothing, and says so.
    await search('no', [HOSTILE, 'sample.apk', 'notes.txt']);
    expect(await page.locator('#summary').textContent()).toMatch(/^Type at least 3 characters to search\. 3 jobs, newest first\.$/);
    await search('', [HOSTILE, 'sample.apk', 'notes.txt']);

    // Pages of two.
    await page.goto(url('/console/jobs?limit=2'));
    await page.waitForSelector('body[data-loaded="true"]');
    expect(await page.locator('#page-info').textContent()).toBe('Page 1 of 2');
    expect(await page.locator('#prev').isDisabled()).toBe(true);
    await turnPage(page, 'next', 'Page 2 of 2');
    expect(await page.locator('#rows a.job-link').allTextContents()).toEqual(['notes.txt']);
    // Older pages go by the answer's cursor; the page number is only shown.
    expect(page.url()).toMatch(/page=2&cursor=[A-Za-z0-9_-]+/);
    expect(await page.locator('#next').isDisabled()).toBe(true);
    await turnPage(page, 'prev', 'Page 1 of 2');
    expect(await page.locator('#rows a.job-link').allTextContents()).toEqual([HOSTILE, 'sample.apk']);
    expect(page.url()).not.toContain('cursor=');

    // The hostile job's own page shows the name as its title, literally.
    await page.goto(url(`/console/jobs/${hostile.jobid}`));
    expect(await jobPageEnds(page)).toBe('completed');
    await expectNameShownLiterally(page, '#job-name', HOSTILE);
    await screenshots(page, 'job-hostile');
    await expectFitsBothWidths(page);
  });

  it('previews text, binary, tar and zip results, and cancels a running job', async () => {
    const results = await echoResults(); // text, binary, tar, zip, gzip and broken JSON, each with the preview it must get
    const jobs = await Promise.all(results.map(async (r) => (await body<Job>(await r.upload(sys.baseUrl, 'echo'))).jobid));
    const previews = await Promise.all(jobs.map((id) => completedPreview(sys.baseUrl, id)));
    results.forEach((r, i) => r.expectPreview(previews[i]));
    const [{ bytes: text }, { bytes: binary }] = results;

    // A binary result in the page: a hex preview.
    await page.goto(url(`/console/jobs/${jobs[1]}`));
    await jobPageEnds(page);
    expect(await page.getAttribute('#preview', 'data-kind')).toBe('binary');
    expect(await page.locator('#preview-hex').textContent()).toBe(previews[1].hex);
    expect(await page.locator('#log-text').textContent()).toBe(`echo-engine: copied ${binary.length} bytes\n`);
    await screenshots(page, 'job-binary');
    // A text result: shown as text, markup and all.
    await page.goto(url(`/console/jobs/${jobs[0]}`));
    await jobPageEnds(page);
    expect(await page.locator('#preview-text').textContent()).toBe(text);
    expect(await page.locator('#preview b').count()).toBe(0);

    // A running job, on the nodes page under the node that runs it; from there to its page, to cancel it.
    const sleepy = await body<Job>(await uploadBytes(sys.baseUrl, 'sleepy', 'zzz', 'slow.bin'));
    await page.goto(url('/console/nodes'));
    const node = await liveNodeCard(page, sys.config.node.name, ['apktool', 'echo', 'filemeta', 'sleepy'], 'filemeta');
    const runningJob = node.locator(`ul.running li[data-jobid="${sleepy.jobid}"]`);
    await runningJob.waitFor({ timeout: 30_000 }); // at the node's next report
    expect(await runningJob.textContent()).toBe(`${sleepy.jobid} · sleepy`);
    await screenshots(page, 'nodes');
    await expectFitsBothWidths(page);
    await runningJob.locator('a').click();
    await page.waitForURL(url(`/console/jobs/${sleepy.jobid}`));
    await page.waitForSelector('body[data-status="running"]', { timeout: 60_000 });
    expect(await page.locator('[data-field="node"] dd').textContent()).toBe(sys.config.node.name);
    expect(await page.locator('.step[data-step="running"]').getAttribute('class')).toContain('current');
    await screenshots(page, 'job-running');
    await page.click('#cancel');
    expect(await jobPageEnds(page, 30_000)).toBe('cancelled');
    expect(await page.locator('#cancel').count()).toBe(0);
    expect(await page.locator('#download').count()).toBe(0);
    expect(await page.locator('#preview').textContent()).toContain('the job ended cancelled without a result');
  });
});
