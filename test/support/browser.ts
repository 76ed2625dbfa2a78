import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from './env';
import { removeDir, tempDir } from './temp-dir';

// Functions given to page.evaluate run in the browser; the tests compile without the DOM lib.
declare const document: any;
declare const requestAnimationFrame: any;

/** Debian's Chromium (`apt-get install chromium`); Playwright's own browser downloads aren't used. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(ROOT, 'test-artifacts/screenshots');

export const WIDE = { width: 1280, height: 860 };
export const NARROW = { width: 390, height: 844 };

export interface Browser {
  context: BrowserContext;
  /** Uncaught page errors and console errors (CSP violations land here), by page URL. */
  problems: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Headless Chromium with a fresh profile of its own, removed on close.
 * Every page it opens records uncaught errors, console errors and dialogs
 * (an `alert` from injected markup would show up as one).
 */
export async function launchBrowser(): Promise<Browser> {
  const userDataDir = tempDir('menagerie-chromium-', { until: 'file' });
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: WIDE,
    acceptDownloads: true,
    timeout: 60_000,
  });
  const problems: string[] = [];
  const watch = (page: Page) => {
    page.on('pageerror', (err) => problems.push(`pageerror on ${page.url()}: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console error on ${page.url()}: ${msg.text()}`);
    });
    page.on('dialog', (dialog) => {
      problems.push(`dialog on ${page.url()}: ${dialog.type()} ${dialog.message()}`);
      void dialog.dismiss().catch(() => undefined);
    });
  };
  context.on('page', watch);
  for (const page of context.pages()) watch(page);
  return {
    context,
    problems,
    async newPage() {
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      return page;
    },
    async close() {
      await context.close().catch(() => undefined);
      removeDir(userDataDir);
    },
  };
}

/**
 * Full-page screenshots of the page as it is, 1280 and 390 px wide, saved as
 * `test-artifacts/screenshots/<name>-1280.png` and `-390.png`. The page is
 * left at 1280 px.
 */
export async function screenshots(page: Page, name: string): Promise<string[]> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const paths: string[] = [];
  for (const size of [WIDE, NARROW]) {
    await page.setViewportSize(size);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const path = join(SCREENSHOT_DIR, `${name}-${size.width}.png`);
    await page.screenshot({ path, fullPage: true, animations: 'disabled' });
    paths.push(path);
  }
  await page.setViewportSize(WIDE);
  return paths;
}

/** True when the page's content is wider than its viewport (a horizontal scrollbar). */
export async function overflowsHorizontally(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1);
}
