import type { Page } from 'playwright-core';
import { CONSOLE_CSP } from '../../apps/api/src/console/security-headers';
import type { SubmissionView } from '../../apps/api/src/submissions/submission.view';
import { launchBrowser, screenshots, type Browser } from '../support/browser';
import { dropExpectedStatus, expectFitsBothWidths, expectStrictCsp, jobPageEnds } from '../support/console-page';
import { body, type Job } from '../support/http';
import { reportEnginesFile, runReport, submitReports, type ReportSpec } from '../support/report-engines';
import { startSystem, type System } from '../support/system';

jest.setTimeout(300_000);

// Functions given to page.evaluate / waitForFunction run in the browser; the tests compile without the DOM lib.
declare const document: any;

const HOSTILE = '<img src=x onerror=alert(1)>';
const SCRIPT = '<script>alert(2)</script>';
const tagHref = (type: string, value: string) => `/console/jobs?tag=${encodeURIComponent(`${type}:${value}`)}`;

/** A report with every part: a verdict, tags of two types, a kv, a table longer than the page draws, a text, two children. */
const FULL: ReportSpec = {
  summary: 'PE32 executable, UPX-packed',
  verdict: ['suspicious', 'packed with UPX'],
  tags: [
    ['yara.rule', 'Packed_UPX'],
    ['ioc.domain', 'c2.example.com'],
    ['yara.rule', 'Has_Overlay'],
  ],
  sections: [
    {
      kind: 'kv',
      title: 'Headers',
      fields: [
        ['Machine', 'I386'],
        ['Compiled', '2026-12-08T00:00:00Z'],
      ],
    },
    {
      kind: 'table',
      title: 'Sections',
      columns: ['name', 'size'],
      rows: Array.from({ length: 250 }, (_, i) => [`s${i}`, String(i * 512)]),
    },
    { kind: 'text', title: 'Notes', text: 'line one\n  line two' },
  ],
  children: [
    { file: 'overlay.bin', relation: 'overlay', name: 'overlay' },
    { file: 'notes.txt', relation: 'attachment' },
  ],
};

/** Markup and script in every place an engine writes text. */
const HOSTILE_REPORT: ReportSpec = {
  summary: `summary ${HOSTILE}`,
  verdict: ['malicious', `reason ${SCRIPT}`],
  tags: [['ioc.url', `http://x.example/${HOSTILE}`]],
  sections: [
    { kind: 'kv', title: `kv ${HOSTILE}`, fields: [[HOSTILE, SCRIPT]] },
    { kind: 'table', title: 'table', columns: [HOSTILE], rows: [[SCRIPT]] },
    { kind: 'text', title: SCRIPT, text: `${HOSTILE}\n${SCRIPT}` },
  ],
  children: [{ file: 'x.html', relation: 'embedded', name: HOSTILE }],
};

describe('admin console: reports', () => {
  let sys: System;
  let browser: Browser;
  let page: Page;
  let full: Job, hostile: Job, plain: Job, expiring: Job;
  let submission: SubmissionView;

  beforeAll(async () => {
    [sys, browser] = await Promise.all([startSystem({ enginesFile: reportEnginesFile() }), launchBrowser()]);
    page = await browser.newPage();
    const base = sys.baseUrl;
    let submissionId: string;
    [full, hostile, plain, expiring, submissionId] = await Promise.all([
      runReport(base, 'alpha', 'full.exe', { alpha: FULL }),
      runReport(base, 'alpha', 'hostile.bin', { alpha: HOSTILE_REPORT }),
      runReport(base, 'plain', 'plain.txt', {}),
      runReport(base, 'beta', 'expiring.bin', {
        beta: { summary: 'soon gone', verdict: ['clean', 'nothing found'], tags: [['hash.tlsh', 'T1AB']] },
      }),
      // Asked beta first: the verdicts are drawn worst first whatever the order asked.
      submitReports(base, ['beta', 'alpha'], 'both.doc', {
        alpha: { summary: 'alpha on both', verdict: ['malicious', 'signature Foo'], tags: [['ioc.domain', 'c2.example.com']] },
        beta: { summary: `beta says ${HOSTILE}`, verdict: ['informational', '3 URLs'] },
      }),
    ]);
    submission = await body<SubmissionView>(await fetch(`${base}/submission/${submissionId}`));
    for (const j of [full, hostile, plain, expiring, ...submission.jobs]) expect([j.engine, j.status]).toEqual([j.engine, 'completed']);
  });
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
  });
  afterEach(() => {
    // No uncaught error, console error (a CSP violation is one) or dialog (an injected alert) on any page.
    expect(browser.problems.splice(0)).toEqual([]);
  });

  const url = (path: string) => `${sys.baseUrl}${path}`;
  const openJob = async (job: Job, state: 'loaded' | 'gone' | null) => {
    await page.goto(url(`/console/jobs/${job.jobid}`));
    await jobPageEnds(page);
    if (state) await page.waitForSelector(`#report[data-report="${state}"]`);
  };
  const text = (selector: string) => page.locator(selector).first().textContent();
  const cells = (selector: string) =>
    page.locator(selector).evaluateAll((rows) => rows.map((r: any) => [...r.querySelectorAll('td')].map((td: any) => td.textContent)));
  /** Waits until the jobs list shows the files named, in any order. */
  const listShows = (names: string[]) =>
    page.waitForFunction(
      (want) =>
        JSON.stringify([...document.querySelectorAll('#rows a.job-link')].map((a: any) => a.textContent).sort()) === JSON.stringify(want),
      [...names].sort(),
    );

  it("shows the job's report: verdict, summary, tags by type, each kind of section, the extracted files", async () => {
    await openJob(full, 'loaded');
    expect(await page.getAttribute('#report-verdict', 'data-verdict')).toBe('suspicious');
    expect(await text('#report-verdict .badge.verdict')).toBe('Suspicious');
    expect(await text('#report-verdict .verdict-reason')).toBe('packed with UPX');
    expect(await text('#report-summary')).toBe('PE32 executable, UPX-packed');
    expect(await text('#report-meta')).toBe('3 tags of 2 types');

    const groups = await page
      .locator('#report-tags .tag-group')
      .evaluateAll((els) =>
        els.map((g: any) => [
          g.dataset.type,
          g.querySelector('.count').textContent.trim(),
          [...g.querySelectorAll('a.tag')].map((a: any) => [a.textContent, a.getAttribute('href')]),
        ]),
      );
    expect(groups).toEqual([
      [
        'yara.rule',
        '2',
        [
          ['Packed_UPX', tagHref('yara.rule', 'Packed_UPX')],
          ['Has_Overlay', tagHref('yara.rule', 'Has_Overlay')],
        ],
      ],
      ['ioc.domain', '1', [['c2.example.com', tagHref('ioc.domain', 'c2.example.com')]]],
    ]);

    const kinds = await page
      .locator('.report-section')
      .evaluateAll((els) => els.map((s: any) => [s.dataset.kind, s.querySelector('h3').textContent]));
    expect(kinds).toEqual([
      ['kv', 'Headers'],
      ['table', 'Sections'],
      ['text', 'Notes'],
    ]);
    const kv = await page
      .locator('.report-section[data-kind="kv"] .kv-row')
      .evaluateAll((rows) => rows.map((r: any) => [r.querySelector('dt').textContent, r.querySelector('dd').textContent]));
    expect(kv).toEqual([
      ['Machine', 'I386'],
      ['Compiled', '2026-12-08T00:00:00Z'],
    ]);
    // 250 rows: the first 200 are drawn, and the section says so.
    const table = page.locator('.report-section[data-kind="table"]');
    expect(await table.locator('th').allTextContents()).toEqual(['name', 'size']);
    const rows = await cells('.report-section[data-kind="table"] tbody tr');
    expect(rows).toHaveLength(200);
    expect([rows[0], rows[199]]).toEqual([
      ['s0', '0'],
      ['s199', String(199 * 512)],
    ]);
    expect(await table.locator('.report-cut').textContent()).toBe('Only the first 200 of 250 rows are shown.');
    expect(await text('.report-section[data-kind="text"] pre')).toBe('line one\n  line two');
    expect(await cells('#report-children tbody tr')).toEqual([
      ['overlay', 'overlay', 'children/overlay.bin'],
      ['attachment', '—', 'children/notes.txt'],
    ]);
    await expectFitsBothWidths(page);
    await screenshots(page, 'job-report');

    // A tag's link: the jobs list, filtered by that tag, shows the jobs that produced it and no other.
    await page.locator('#report-tags a.tag', { hasText: 'Has_Overlay' }).click();
    await page.waitForURL(url(tagHref('yara.rule', 'Has_Overlay')));
    await listShows(['full.exe']);
    expect(await page.inputValue('#tag')).toBe('yara.rule:Has_Overlay');
    expect(await text('#summary')).toBe('1 job match, newest first.');
    await page.goto(url(tagHref('ioc.domain', 'c2.example.com')));
    await listShows(['full.exe', 'both.doc']);
  });

  it('shows what an engine wrote as text, markup and script included, and runs none of it', async () => {
    const res = await fetch(url(`/console/jobs/${hostile.jobid}`));
    expect(expectStrictCsp(res)).toBe(CONSOLE_CSP);
    await openJob(hostile, 'loaded');
    expect(await text('#report-summary')).toBe(`summary ${HOSTILE}`);
    expect(await text('#report-verdict .verdict-reason')).toBe(`reason ${SCRIPT}`);
    expect(await page.getAttribute('#report-verdict', 'data-verdict')).toBe('malicious');
    expect(await text('#report-tags a.tag')).toBe(`http://x.example/${HOSTILE}`);
    expect(await text('.report-section[data-kind="kv"] h3')).toBe(`kv ${HOSTILE}`);
    expect(await text('.report-section[data-kind="kv"] dt')).toBe(HOSTILE);
    expect(await text('.report-section[data-kind="kv"] dd')).toBe(SCRIPT);
    expect(await text('.report-section[data-kind="table"] th')).toBe(HOSTILE);
    expect(await text('.report-section[data-kind="table"] td')).toBe(SCRIPT);
    expect(await text('.report-section[data-kind="text"] h3')).toBe(SCRIPT);
    expect(await text('.report-section[data-kind="text"] pre')).toBe(`${HOSTILE}\n${SCRIPT}`);
    expect(await cells('#report-children tbody tr')).toEqual([['embedded', HOSTILE, 'children/x.html']]);
    // No element was made of it.
    expect(await page.locator('main img, main script, #report [onerror]').count()).toBe(0);

    // Its tag's link carries the value as it is, and the filter finds the job by it.
    await page.locator('#report-tags a.tag').click();
    await listShows(['hostile.bin']);
    expect(await page.inputValue('#tag')).toBe(`ioc.url:http://x.example/${HOSTILE}`);
    expect(await page.locator('main img').count()).toBe(0);
  });

  it('shows nothing new for a job without a report, and says so when retention removed the report', async () => {
    await openJob(plain, null);
    expect(await page.locator('#report').isHidden()).toBe(true);

    await sys.db.query('UPDATE jobs SET expired_at = now() WHERE id = $1', [expiring.jobid]);
    expect((await fetch(url(`/report/${expiring.jobid}`))).status).toBe(410);
    await openJob(expiring, 'gone');
    // The digest stays on the job: its verdict, summary and tag counts; the tags themselves are gone with the report.
    expect(await page.getAttribute('#report-verdict', 'data-verdict')).toBe('clean');
    expect(await text('#report-verdict .verdict-reason')).toBe('nothing found');
    expect(await text('#report-summary')).toBe('soon gone');
    expect(await text('#report-note')).toMatch(/^The full report \(its tags, sections and extracted files\) was removed by retention on /);
    expect(await text('#report-tags .tag-group')).toBe('hash.tlsh 1');
    expect(await page.locator('#report a.tag, .report-section').count()).toBe(0);
    dropExpectedStatus(browser.problems, 410); // the stored log's answer, which the browser logs
  });

  it("puts every engine's verdict side by side on the submission page, the worst at the top", async () => {
    await page.goto(url(`/console/submissions/${submission.submissionId}`));
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.getAttribute('#worst-verdict', 'data-verdict')).toBe('malicious');
    expect(await text('#worst-verdict .badge.verdict')).toBe('Malicious');
    expect(await text('#worst-verdict .verdict-from')).toBe('alpha:');
    expect(await text('#worst-verdict .verdict-reason')).toBe('signature Foo');
    expect(await text('#verdicts-meta')).toBe('2 of 2 engines gave a verdict');
    expect(await cells('#verdict-rows tr')).toEqual([
      ['alpha', 'Completed', 'Malicious', 'signature Foo', 'alpha on both'],
      ['beta', 'Completed', 'Informational', '3 URLs', `beta says ${HOSTILE}`],
    ]);
    // The jobs table below keeps the order asked.
    expect(await page.locator('#rows tr').evaluateAll((rows) => rows.map((r: any) => r.dataset.engine))).toEqual(['beta', 'alpha']);
    expect(await page.locator('main img').count()).toBe(0);
    await expectFitsBothWidths(page);
    await screenshots(page, 'submission-verdicts');
  });

  it('shows each job’s verdict in the list, and filters the list by a tag typed in', async () => {
    await page.goto(url('/console/jobs'));
    await page.waitForSelector('body[data-loaded="true"]');
    const verdicts = Object.fromEntries(
      await page
        .locator('#rows tr')
        .evaluateAll((rows) => rows.map((r: any) => [r.dataset.jobid, r.querySelector('td[data-label="Verdict"]').textContent])),
    );
    const [beta, alpha] = submission.jobs;
    expect(verdicts).toEqual({
      [full.jobid]: 'Suspicious',
      [hostile.jobid]: 'Malicious',
      [plain.jobid]: '—',
      [expiring.jobid]: 'Clean',
      [alpha.jobid]: 'Malicious',
      [beta.jobid]: 'Informational',
    });
    expect(await page.getAttribute(`#rows tr[data-jobid="${full.jobid}"] .badge.verdict`, 'title')).toBe('Suspicious: packed with UPX');
    await expectFitsBothWidths(page);

    await page.fill('#tag', 'yara.rule:Packed_UPX');
    await listShows(['full.exe']);
    expect(page.url()).toBe(url(tagHref('yara.rule', 'Packed_UPX')));
    await page.fill('#tag', 'hash.tlsh:T1AB');
    await listShows(['expiring.bin']);
    await page.fill('#tag', 'yara.rule');
    await page.waitForFunction(() =>
      /^Could not load the jobs: INVALID_QUERY: tag must be <type>:<value>/.test(document.getElementById('error')?.textContent ?? ''),
    );
    dropExpectedStatus(browser.problems, 400); // the refused search's answer, which the browser logs
    await page.click('#clear');
    await listShows(['full.exe', 'hostile.bin', 'plain.txt', 'expiring.bin', 'both.doc', 'both.doc']);
    expect(await page.inputValue('#tag')).toBe('');
    await screenshots(page, 'jobs-verdicts');
  });
});
