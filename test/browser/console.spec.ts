import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { launchBrowser, overflowsHorizontally, screenshots, NARROW, WIDE, type Browser } from '../support/browser';
import { tarOf } from '../support/archive';
import { writeShippedEnginesFile } from '../support/engines-file';
import { FIXTURES } from '../support/env';
import { body, uploadBytes, uploadFile, waitForJob, type Job } from '../support/http';
import { startSystem, type System } from '../support/system';

jest.setTimeout(180_000);

// Functions given to page.evaluate / waitForFunction run in the browser. The
// tests compile without the DOM lib, so its globals are declared loosely here.
declare const document: any;
declare const DataTransfer: any;

const HOSTILE = '<img src=x onerror=alert(1)>.apk';
const UUID_PATH = /\/console\/jobs\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The shipped engines (confs/engines.json, as is) plus two test engines on the
 * filemeta image: `echo` returns its input as the result (so a test picks the
 * result's kind), `sleepy` runs until cancelled.
 */
function enginesFile(): string {
  return writeShippedEnginesFile('menagerie-console-engines-', [
    {
      name: 'echo',
      workers: 2,
      image: '{{regserver}}/filemeta:stable',
      runflags: [],
      cmd: ['sh', '-c', 'cat /var/data/input > /var/data/result && echo "echo-engine: copied $(wc -c < /var/data/input) bytes"'],
      mountpoint: '/var/data',
      sizelimit: 50_000_000,
      inputfilename: 'input',
      user: '{{uid}}',
      timeout: 60,
    },
    {
      name: 'sleepy',
      workers: 1,
      image: '{{regserver}}/filemeta:stable',
      runflags: [],
      cmd: ['sh', '-c', 'echo sleeping; sleep 120'],
      mountpoint: '/var/data',
      sizelimit: 1_000_000,
      inputfilename: 'input',
      user: '{{uid}}',
      timeout: 150,
    },
  ]);
}

describe('admin console', () => {
  let sys: System;
  let browser: Browser;
  let page: Page;
  const started = Date.now();

  beforeAll(async () => {
    // Reports every 3 s (not 10): a job shows on the nodes page soon after it starts.
    [sys, browser] = await Promise.all([
      startSystem({ enginesFile: enginesFile(), settings: { node: { reportSeconds: 3 } } }),
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

  /** Waits on the job page until the job has ended and its preview and log are shown. */
  async function waitForEnd(p: Page, timeout = 120_000): Promise<string> {
    await p.waitForSelector('body[data-ready="true"]', { timeout });
    return (await p.getAttribute('body', 'data-status'))!;
  }

  /** Clicks Download and checks the file saved is byte for byte what GET /link serves. */
  async function downloadAndCompare(p: Page, jobId: string, expectedName: string): Promise<Buffer> {
    const [download] = await Promise.all([p.waitForEvent('download'), p.click('#download')]);
    expect(download.suggestedFilename()).toBe(expectedName);
    const saved = readFileSync((await download.path())!);
    const link = Buffer.from(await (await fetch(url(`/link/${jobId}`))).arrayBuffer());
    expect(saved.length).toBeGreaterThan(0);
    expect(saved.equals(link)).toBe(true);
    return saved;
  }

  it('serves the console with a strict CSP and validates what it is given', async () => {
    const res = await fetch(url('/console'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    expect(html).not.toMatch(/\sstyle=|\son[a-z]+=/i); // no inline style or handler

    for (const asset of [
      'console.css',
      'console.js',
      'engines.js',
      'nodes.js',
      'jobs.js',
      'job.js',
      'upload.js',
      'icon.svg',
      'upload.svg',
      'chevron.svg',
    ]) {
      const a = await fetch(url(`/console/assets/${asset}`));
      expect([asset, a.status]).toEqual([asset, 200]);
    }
    expect((await fetch(url('/console/assets/..%2F..%2Fpackage.json'))).status).toBe(404);
    expect((await fetch(url('/console/assets/nope.js'))).status).toBe(404);

    const badId = await fetch(url('/console/api/jobs/not-a-uuid/preview'));
    expect(badId.status).toBe(400);
    expect((await body(badId)).error).toBe('INVALID_JOB_ID');
    expect(badId.headers.get('content-security-policy')).toBe(csp);
    const unknown = await fetch(url('/console/api/jobs/3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90/log'));
    expect(unknown.status).toBe(404);
    expect((await body(unknown)).error).toBe('JOB_NOT_FOUND');
    expect((await fetch(url('/console/jobs/..%2F..%2Fetc'))).status).toBe(400);
    const badQuery = await fetch(url('/console/api/jobs?status=exploded'));
    expect(badQuery.status).toBe(400);
    expect((await body(badQuery)).error).toBe('INVALID_QUERY');
  });

  it('sets the key cookie Secure when the page came over HTTPS', async () => {
    await page.goto(url('/console'));
    // The console's own module, as the page loads it (the test server speaks plain HTTP, so the protocol is given).
    // A string, so that the compiler leaves the dynamic import to the browser.
    const cookies: { https: string; http: string; here: string } = await page.evaluate(`(async () => {
      const { keyCookie } = await import('/console/assets/console.js');
      return { https: keyCookie('k3y; with=odd chars', 'https:'), http: keyCookie('k3y', 'http:'), here: keyCookie('k3y') };
    })()`);
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
    const engines = await body<{ engines: Array<{ name: string; nodes: Array<{ name: string; digest: string }> }> }>(
      await fetch(url('/engines')),
    );
    const served = engines.engines.find((e) => e.name === 'filemeta')!.nodes;
    expect(served.map((n) => n.name)).toEqual([sys.config.node.name]);
    const chip = card.locator(`.node-chip[data-node="${sys.config.node.name}"]`);
    expect(await chip.getAttribute('title')).toBe(served[0].digest);
    expect(await chip.textContent()).toBe(`${sys.config.node.name}${served[0].digest.replace(/^sha256:/, '').slice(0, 12)}…`);
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

    const cdp = await browser.context.newCDPSession(page);
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 1.5 * 1024 * 1024,
    });
    await page.click('#submit');
    await page.waitForFunction(() => {
      const now = Number(document.getElementById('progressbar')?.getAttribute('aria-valuenow'));
      return now > 0 && now < 100;
    });
    expect(await page.locator('#progress').isVisible()).toBe(true);
    expect(await page.locator('#abort').isVisible()).toBe(true);
    await screenshots(page, 'upload-progress');
    expect(page.url()).toContain('/console/upload'); // still uploading while both were taken
    await page.waitForURL(UUID_PATH, { timeout: 60_000 });
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await cdp.detach();

    const jobId = page.url().split('/').pop()!;
    expect(await waitForEnd(page)).toBe('completed');
    const job = await body<Job>(await fetch(url(`/result/${jobId}`)));
    expect(await page.locator('#job-name').textContent()).toBe('notes.txt');
    expect(await page.locator('[data-field="sha256"] dd').textContent()).toContain(createHash('sha256').update(content).digest('hex'));
    expect(await page.locator('[data-field="digest"] dd').textContent()).toBe(job.imageDigest);
    // The node that ran it, linked to its card on the nodes page.
    expect(job.node).toBe(sys.config.node.name);
    expect(await page.locator('[data-field="node"] dd').textContent()).toBe(sys.config.node.name);
    expect(await page.locator('[data-field="node"] a').getAttribute('href')).toBe(`/console/nodes#node-${sys.config.node.name}`);
    expect(await page.locator('[data-field="exit"] dd').textContent()).toBe('0');
    // The timeline: queued → running → completed, with durations.
    expect(await page.locator('.timeline .step').count()).toBe(3);
    expect(await page.locator('.step[data-step="completed"]').getAttribute('class')).toContain('done');
    expect(await page.locator('.step[data-step="running"] .step-note').textContent()).toMatch(/^waited \d/);
    expect(await page.locator('.step[data-step="completed"] .step-note').textContent()).toMatch(/^ran \d.* in all$/);
    expect(await page.locator('#temporal').getAttribute('href')).toBe(job.temporalUrl);
    // The JSON result, pretty-printed.
    expect(await page.getAttribute('#preview', 'data-kind')).toBe('json');
    const shown = (await page.locator('#preview-json').textContent())!;
    expect(shown).toBe(JSON.stringify(JSON.parse(shown), null, 2));
    expect(JSON.parse(shown)).toMatchObject({ engine: 'filemeta', size: Buffer.byteLength(content) });
    expect(shown).toContain('marker-line-for-filemeta');
    await screenshots(page, 'job-filemeta');

    const saved = await downloadAndCompare(page, jobId, 'notes.filemeta.json');
    expect(JSON.parse(saved.toString()).sha256).toBe(job.input.sha256);
  });

  it('apktool: drop the APK → job page → archive listing and log → download', async () => {
    const apk = readFileSync(join(FIXTURES, 'sample.apk'));
    await page.goto(url('/console/upload'));
    await page.waitForSelector('#engine option[value="apktool"]', { state: 'attached' });
    await page.selectOption('#engine', 'apktool');
    // Dropped onto the drop zone, as a person would drag it from a file manager.
    const dataTransfer = await page.evaluateHandle(
      ({ name, b64 }) => {
        const dt = new DataTransfer();
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        dt.items.add(new File([bytes], name, { type: 'application/vnd.android.package-archive' }));
        return dt;
      },
      { name: 'sample.apk', b64: apk.toString('base64') },
    );
    await page.dispatchEvent('#dropzone', 'dragenter', { dataTransfer });
    expect(await page.getAttribute('#dropzone', 'class')).toContain('dragging');
    await page.dispatchEvent('#dropzone', 'drop', { dataTransfer });
    await expect(page.locator('#file-info').textContent()).resolves.toBe(`sample.apk · ${(apk.length / 1000).toFixed(2)} kB`);
    await page.click('#submit');
    await page.waitForURL(UUID_PATH);
    const jobId = page.url().split('/').pop()!;

    // While it runs, the page follows it without a reload.
    await page.waitForSelector('body[data-status="running"], body[data-status="completed"]');
    expect(await waitForEnd(page)).toBe('completed');
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

    await downloadAndCompare(page, jobId, 'sample.apktool.tar.gz');
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
    const apkSha = createHash('sha256')
      .update(readFileSync(join(FIXTURES, 'sample.apk')))
      .digest('hex');
    const search = async (q: string, expected: string[]) => {
      await page.fill('#q', q);
      await page.waitForFunction(
        (want) =>
          JSON.stringify([...document.querySelectorAll('#rows a.job-link')].map((a: { textContent: string }) => a.textContent)) ===
          JSON.stringify(want),
        expected,
        { timeout: 10_000 },
      );
    };
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
    await page.click('#next');
    await page.waitForFunction(() => document.getElementById('page-info')?.textContent === 'Page 2 of 2');
    expect(await page.locator('#rows a.job-link').allTextContents()).toEqual(['notes.txt']);
    // Older pages go by the answer's cursor; the page number is only shown.
    expect(page.url()).toMatch(/page=2&cursor=[A-Za-z0-9_-]+/);
    expect(await page.locator('#next').isDisabled()).toBe(true);
    await page.click('#prev');
    await page.waitForFunction(() => document.getElementById('page-info')?.textContent === 'Page 1 of 2');
    expect(await page.locator('#rows a.job-link').allTextContents()).toEqual([HOSTILE, 'sample.apk']);
    expect(page.url()).not.toContain('cursor=');

    // The hostile job's own page shows the name as its title, literally.
    await page.goto(url(`/console/jobs/${hostile.jobid}`));
    expect(await waitForEnd(page)).toBe('completed');
    expect(await page.locator('#job-name').textContent()).toBe(HOSTILE);
    expect(await page.title()).toBe(`${HOSTILE} · Menagerie`);
    expect(await page.locator('main img').count()).toBe(0);
    await screenshots(page, 'job-hostile');
    for (const size of [WIDE, NARROW]) {
      await page.setViewportSize(size);
      expect([size.width, await overflowsHorizontally(page)]).toEqual([size.width, false]);
    }
    await page.setViewportSize(WIDE);
  });

  it('previews text, binary, tar and zip results, and cancels a running job', async () => {
    const text = 'plain text result\nline two: <b>not bold</b>\n';
    const binary = Buffer.concat([Buffer.from([0x4d, 0x5a, 0x90, 0x00]), randomBytes(2000)]);
    const tar = await tarOf({ 'docs/readme.txt': 'hello', 'docs/data.bin': 'x'.repeat(1234) });
    const uploads = await Promise.all([
      uploadBytes(sys.baseUrl, 'echo', text, 'note.txt'),
      uploadBytes(sys.baseUrl, 'echo', binary, 'blob.bin'),
      uploadBytes(sys.baseUrl, 'echo', tar, 'bundle.tar'),
      uploadFile(sys.baseUrl, 'echo', join(FIXTURES, 'sample.apk'), 'zipped.apk'),
      uploadBytes(sys.baseUrl, 'echo', gzipSync('not a tar, just gzip\n'), 'plain.gz'),
      uploadBytes(sys.baseUrl, 'echo', '{"broken": json', 'broken.json'),
    ]);
    const jobs = await Promise.all(uploads.map(async (r) => (await body<Job>(r)).jobid));
    const previews = await Promise.all(
      jobs.map(async (id) => {
        const job = await waitForJob(sys.baseUrl, id, 60_000);
        expect([id, job.status]).toEqual([id, 'completed']);
        return body(await fetch(url(`/console/api/jobs/${id}/preview`)));
      }),
    );
    const [textP, binP, tarP, zipP, gzP, brokenP] = previews;
    expect(textP).toEqual({ kind: 'text', size: Buffer.byteLength(text), text, truncated: false });
    expect(binP).toMatchObject({ kind: 'binary', size: binary.length, bytes: 512 });
    expect(binP.hex.split('\n')).toHaveLength(32);
    expect(binP.hex.split('\n')[0]).toMatch(/^00000000 {2}4d 5a 90 00 /);
    expect(binP.hex.split('\n')[0]).toMatch(/\|MZ\.\..{12}\|$/);
    expect(tarP).toMatchObject({
      kind: 'archive',
      format: 'tar',
      truncated: false,
      entries: [
        { name: 'docs/', type: 'directory', size: null },
        { name: 'docs/readme.txt', type: 'file', size: 5 },
        { name: 'docs/data.bin', type: 'file', size: 1234 },
      ],
    });
    expect(zipP).toMatchObject({ kind: 'archive', format: 'zip', truncated: false });
    expect(zipP.entries.map((e: { name: string }) => e.name)).toEqual(expect.arrayContaining(['AndroidManifest.xml', 'classes.dex']));
    expect(gzP).toMatchObject({ kind: 'binary', note: 'gzip-compressed data that is not a tar archive' });
    expect(brokenP).toMatchObject({ kind: 'text', text: '{"broken": json' });

    // A binary result in the page: a hex preview.
    await page.goto(url(`/console/jobs/${jobs[1]}`));
    await waitForEnd(page);
    expect(await page.getAttribute('#preview', 'data-kind')).toBe('binary');
    expect(await page.locator('#preview-hex').textContent()).toBe(binP.hex);
    expect(await page.locator('#log-text').textContent()).toBe(`echo-engine: copied ${binary.length} bytes\n`);
    await screenshots(page, 'job-binary');
    // A text result: shown as text, markup and all.
    await page.goto(url(`/console/jobs/${jobs[0]}`));
    await waitForEnd(page);
    expect(await page.locator('#preview-text').textContent()).toBe(text);
    expect(await page.locator('#preview b').count()).toBe(0);

    // A running job, on the nodes page under the node that runs it; from there to its page, to cancel it.
    const sleepy = await body<Job>(await uploadBytes(sys.baseUrl, 'sleepy', 'zzz', 'slow.bin'));
    await page.goto(url('/console/nodes'));
    const node = page.locator(`article.node[data-node="${sys.config.node.name}"]`);
    await node.waitFor();
    expect(await node.getAttribute('data-live')).toBe('true');
    expect(await node.locator('.card-head .badge').textContent()).toBe('Live');
    expect(await node.locator('[data-field="last-seen"] time').getAttribute('title')).toMatch(/\d/);
    expect(await node.locator('[data-field="started"] time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect((await node.locator('tr[data-engine]').evaluateAll((rows) => rows.map((r: any) => r.dataset.engine))).sort()).toEqual([
      'apktool',
      'echo',
      'filemeta',
      'sleepy',
    ]);
    const filemetaRow = node.locator('tr[data-engine="filemeta"]');
    expect(await filemetaRow.getAttribute('data-serving')).toBe('true');
    expect(await filemetaRow.locator('td[data-label="Digest"]').getAttribute('title')).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await filemetaRow.locator('.badge').textContent()).toBe('Available');
    const runningJob = node.locator(`ul.running li[data-jobid="${sleepy.jobid}"]`);
    await runningJob.waitFor({ timeout: 30_000 }); // at the node's next report
    expect(await runningJob.textContent()).toBe(`${sleepy.jobid} · sleepy`);
    await screenshots(page, 'nodes');
    for (const size of [WIDE, NARROW]) {
      await page.setViewportSize(size);
      expect([size.width, await overflowsHorizontally(page)]).toEqual([size.width, false]);
    }
    await page.setViewportSize(WIDE);
    await runningJob.locator('a').click();
    await page.waitForURL(url(`/console/jobs/${sleepy.jobid}`));
    await page.waitForSelector('body[data-status="running"]', { timeout: 60_000 });
    expect(await page.locator('[data-field="node"] dd').textContent()).toBe(sys.config.node.name);
    expect(await page.locator('.step[data-step="running"]').getAttribute('class')).toContain('current');
    await screenshots(page, 'job-running');
    await page.click('#cancel');
    expect(await waitForEnd(page, 30_000)).toBe('cancelled');
    expect(await page.locator('#cancel').count()).toBe(0);
    expect(await page.locator('#download').count()).toBe(0);
    expect(await page.locator('#preview').textContent()).toContain('the job ended cancelled without a result');
  });
});
