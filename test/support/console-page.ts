import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JSHandle, Locator, Page } from 'playwright-core';
import { overflowsHorizontally, NARROW, WIDE, type Browser } from './browser';
import { ROOT } from './env';
import { body, type Job } from './http';

/** Driving the admin console in a page, for the browser specs (test/browser). */

// Functions given to page.evaluate / waitForFunction run in the browser; the tests compile without the DOM lib.
declare const document: any;
declare const DataTransfer: any;

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** A job's page, the job id captured. */
export const JOB_PATH = new RegExp(`/console/jobs/(${UUID})$`);
/** A submission's page, the submission id captured. */
export const SUBMISSION_PATH = new RegExp(`/console/submissions/(${UUID})$`);

/** Every asset of the console (apps/api/console/assets), each served under /console/assets/. */
export const CONSOLE_ASSETS = readdirSync(join(ROOT, 'apps/api/console/assets')).sort();

/** A console page's HTML holds no inline script, style or event handler (what the CSP would refuse). */
export function expectNoInlineCode(html: string): void {
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
  expect(html).not.toMatch(/\sstyle=|\son[a-z]+=/i); // no inline style or handler
}

/** Waits on the job page until the job has ended and its preview and log are shown; gives the job's status. */
export async function jobPageEnds(page: Page, timeout = 120_000): Promise<string> {
  await page.waitForSelector('body[data-ready="true"]', { timeout });
  return (await page.getAttribute('body', 'data-status'))!;
}

/** Clicks Download on a job page and checks the file saved is byte for byte what GET /link serves. */
export async function downloadMatchesLink(page: Page, baseUrl: string, jobId: string, expectedName: string): Promise<Buffer> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  expect(download.suggestedFilename()).toBe(expectedName);
  const saved = readFileSync((await download.path())!);
  const link = Buffer.from(await (await fetch(`${baseUrl}/link/${jobId}`)).arrayBuffer());
  expect(saved.length).toBeGreaterThan(0);
  expect(saved.equals(link)).toBe(true);
  return saved;
}

/** The page as it is has no horizontal scrollbar at 1280 and at 390 px; it is left at 1280 px. */
export async function expectFitsBothWidths(page: Page): Promise<void> {
  for (const size of [WIDE, NARROW]) {
    await page.setViewportSize(size);
    expect([size.width, await overflowsHorizontally(page)]).toEqual([size.width, false]);
  }
  await page.setViewportSize(WIDE);
}

/** Throttles the page's uploads to `bytesPerSecond` (so a progress bar is seen moving); the function returned lifts it. */
export async function throttleUploads(browser: Browser, page: Page, bytesPerSecond: number): Promise<() => Promise<void>> {
  const cdp = await browser.context.newCDPSession(page);
  const conditions = { offline: false, latency: 0, downloadThroughput: -1 };
  await cdp.send('Network.emulateNetworkConditions', { ...conditions, uploadThroughput: bytesPerSecond });
  return async () => {
    await cdp.send('Network.emulateNetworkConditions', { ...conditions, uploadThroughput: -1 });
    await cdp.detach();
  };
}

/** A DataTransfer in the page holding one file, for drag and drop events (as a person would drag it from a file manager). */
export function fileTransfer(page: Page, file: { name: string; type: string; bytes: Buffer }): Promise<JSHandle> {
  return page.evaluateHandle(
    ({ name, type, b64 }) => {
      const dt = new DataTransfer();
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], name, { type }));
      return dt;
    },
    { name: file.name, type: file.type, b64: file.bytes.toString('base64') },
  );
}

/** Types `q` into the jobs page's search box and waits until the rows' file names are `expected`, in order. */
export async function searchJobs(page: Page, q: string, expected: string[]): Promise<void> {
  await page.fill('#q', q);
  await page.waitForFunction(
    (want) =>
      JSON.stringify([...document.querySelectorAll('#rows a.job-link')].map((a: { textContent: string }) => a.textContent)) ===
      JSON.stringify(want),
    expected,
    { timeout: 10_000 },
  );
}

/** Opens the upload page at `baseUrl` with a file chosen, in the mode and with the engines given. */
export async function chooseUpload(
  page: Page,
  baseUrl: string,
  mode: 'one' | 'several' | 'auto',
  file: { name: string; mimeType: string; buffer: Buffer },
  engines: string[] = [],
): Promise<void> {
  await page.goto(`${baseUrl}/console/upload`);
  await page.waitForSelector('#engine-checks input[value="filemeta"]', { state: 'attached' });
  await page.check(`#mode-${mode}`);
  if (mode === 'one') await page.selectOption('#engine', engines[0]);
  for (const engine of engines) if (mode === 'several') await page.check(`#engine-checks input[value="${engine}"]`);
  await page.setInputFiles('#file', file);
}

/** Drops the browser's own log line of an error status a test asked for from `problems`; any other problem stays. */
export function dropExpectedStatus(problems: string[], status: number): void {
  const rest = problems.filter((p) => !p.includes(`Failed to load resource: the server responded with a status of ${status}`));
  problems.splice(0, problems.length, ...rest);
}

/** The engines page's card of `engine` (a locator) names the node that serves it, with the digest its image has there (in full in the title). */
export async function expectServedOn(card: Locator, baseUrl: string, engine: string, node: string): Promise<void> {
  const engines = await body<{ engines: Array<{ name: string; nodes: Array<{ name: string; digest: string }> }> }>(
    await fetch(`${baseUrl}/engines`),
  );
  const served = engines.engines.find((e) => e.name === engine)!.nodes;
  expect(served.map((n) => n.name)).toEqual([node]);
  const chip = card.locator(`.node-chip[data-node="${node}"]`);
  expect(await chip.getAttribute('title')).toBe(served[0].digest);
  expect(await chip.textContent()).toBe(`${node}${served[0].digest.replace(/^sha256:/, '').slice(0, 12)}…`);
}

/**
 * The nodes page's card of `node`, once shown: live, when it was last seen and
 * started, the engines it has (`engines`, in any order), and `serving` served
 * with its image's digest.
 */
export async function liveNodeCard(page: Page, node: string, engines: string[], serving: string): Promise<Locator> {
  const card = page.locator(`article.node[data-node="${node}"]`);
  await card.waitFor();
  expect(await card.getAttribute('data-live')).toBe('true');
  expect(await card.locator('.card-head .badge').textContent()).toBe('Live');
  expect(await card.locator('[data-field="last-seen"] time').getAttribute('title')).toMatch(/\d/);
  expect(await card.locator('[data-field="started"] time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
  expect((await card.locator('tr[data-engine]').evaluateAll((rows) => rows.map((r: any) => r.dataset.engine))).sort()).toEqual(
    [...engines].sort(),
  );
  const row = card.locator(`tr[data-engine="${serving}"]`);
  expect(await row.getAttribute('data-serving')).toBe('true');
  expect(await row.locator('td[data-label="Digest"]').getAttribute('title')).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(await row.locator('.badge').textContent()).toBe('Available');
  return card;
}

/** The console's pages: served as HTML under a CSP that lets only the console's own files run, and not sniffed; gives the CSP. */
export function expectStrictCsp(res: Response): string {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  const csp = res.headers.get('content-security-policy')!;
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toContain('unsafe-inline');
  expect(csp).not.toContain('unsafe-eval');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  return csp;
}

/** What the console's keyCookie (console.js, as the page loads it) makes of a key for a page over HTTPS, over HTTP, and for the page it is on. */
export function keyCookies(page: Page): Promise<{ https: string; http: string; here: string }> {
  // A string, so that the compiler leaves the dynamic import to the browser.
  return page.evaluate(`(async () => {
    const { keyCookie } = await import('/console/assets/console.js');
    return { https: keyCookie('k3y; with=odd chars', 'https:'), http: keyCookie('k3y', 'http:'), here: keyCookie('k3y') };
  })()`);
}

/** Resolves once the upload page's progress bar shows an upload under way (more than 0, less than 100 %). */
export function uploadUnderWay(page: Page): Promise<unknown> {
  return page.waitForFunction(() => {
    const now = Number(document.getElementById('progressbar')?.getAttribute('aria-valuenow'));
    return now > 0 && now < 100;
  });
}

/**
 * The page of a job that ran to completion on `node`: its image digest, the
 * node (linked to its card on the nodes page), exit code 0, the timeline
 * queued → running → completed with durations, and its Temporal link.
 */
export async function expectRunFacts(page: Page, job: Job, node: string): Promise<void> {
  expect(await page.locator('[data-field="digest"] dd').textContent()).toBe(job.imageDigest);
  expect(await page.locator('[data-field="node"] dd').textContent()).toBe(node);
  expect(await page.locator('[data-field="node"] a').getAttribute('href')).toBe(`/console/nodes#node-${node}`);
  expect(await page.locator('[data-field="exit"] dd').textContent()).toBe('0');
  expect(await page.locator('.timeline .step').count()).toBe(3);
  expect(await page.locator('.step[data-step="completed"]').getAttribute('class')).toContain('done');
  expect(await page.locator('.step[data-step="running"] .step-note').textContent()).toMatch(/^waited \d/);
  expect(await page.locator('.step[data-step="completed"] .step-note').textContent()).toMatch(/^ran \d.* in all$/);
  expect(await page.locator('#temporal').getAttribute('href')).toBe(job.temporalUrl);
}

/** A file name a page shows as its heading (`selector`) and in its title: as text, literally, with no markup made of it. */
export async function expectNameShownLiterally(page: Page, selector: string, name: string): Promise<void> {
  expect(await page.locator(selector).textContent()).toBe(name);
  expect(await page.title()).toBe(`${name} · Menagerie`);
  expect(await page.locator('main img').count()).toBe(0);
}

/** Clicks the jobs page's Next or Prev, and waits until its page line says `info`. */
export async function turnPage(page: Page, button: 'next' | 'prev', info: string): Promise<void> {
  await page.click(`#${button}`);
  await page.waitForFunction((want) => document.getElementById('page-info')?.textContent === want, info);
}
