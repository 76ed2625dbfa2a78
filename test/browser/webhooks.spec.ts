import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { launchBrowser, type Browser } from '../support/browser';
import { writeEnginesFile } from '../support/engines-file';
import { body, waitForJob, type Job } from '../support/http';
import { startSystem, type System } from '../support/system';

jest.setTimeout(240_000);

// Functions given to page.evaluate / waitForFunction run in the browser; the tests compile without the DOM lib.
declare const document: any;

describe('admin console: a job page shows its webhook deliveries and their attempts', () => {
  let sys: System;
  let browser: Browser;
  let page: Page;
  let server: Server;
  let rx = '';
  /** Answers 500 to every delivery's first two attempts, then 200. */
  const seen = new Map<string, number>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const id = String(req.headers['x-menagerie-delivery']);
        const n = (seen.get(id) ?? 0) + 1;
        seen.set(id, n);
        res.writeHead(n <= 2 ? 500 : 200).end(n <= 2 ? 'not yet' : 'ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    rx = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    [sys, browser] = await Promise.all([
      startSystem({
        enginesFile: writeEnginesFile([{ name: 'meta', cmd: '/engine/run.sh' }]),
        settings: {
          webhooks: {
            targets: [{ url: `${rx}/all`, secret: 'target-secret-0123456789', events: ['job.completed'] }],
            callbackAllow: [`${rx}/cb/`],
            callbackSecret: 'callback-secret-0123456789',
            allowPrivate: [`${rx}/`],
            retry: { initialSeconds: 0.2, maxIntervalSeconds: 1, giveUpSeconds: 60 },
          },
        },
      }),
      launchBrowser(),
    ]);
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('lists each delivery: event, receiver URL (without its query), status and every attempt', async () => {
    const form = new FormData();
    form.append('upload', new Blob([Buffer.concat([Buffer.from([0]), randomBytes(99)])]), 'sample.bin');
    const res = await fetch(`${sys.baseUrl}/meta/upload?callback=${encodeURIComponent(`${rx}/cb/hook?token=s3cret`)}`, {
      method: 'POST',
      body: form,
    });
    expect(res.status).toBe(201);
    const job = await waitForJob(sys.baseUrl, (await body<Job>(res)).jobid);

    await page.goto(`${sys.baseUrl}/console/jobs/${job.jobid}`);
    await page.waitForFunction(() => document.querySelectorAll('#webhook-rows tr[data-status="delivered"]').length === 2, undefined, {
      timeout: 60_000,
    });
    const rows = await page.$$eval('#webhook-rows tr', (trs: any[]) =>
      trs.map((tr) => ({
        cells: [...tr.querySelectorAll(':scope > td')].map((td: any) => td.textContent.trim()),
        attempts: [...tr.querySelectorAll('li.attempt')].map((li: any) => li.textContent),
      })),
    );
    expect(rows.map((r) => r.cells.slice(0, 3))).toEqual(
      expect.arrayContaining([
        ['job.completed', `${rx}/all (target)`, 'Delivered'],
        ['job.completed', `${rx}/cb/hook?… (callback)`, 'Delivered'],
      ]),
    );
    for (const row of rows) {
      expect(row.attempts).toHaveLength(3);
      expect(row.attempts[0]).toMatch(/^#1 .* · HTTP 500 · \d+ ms · HTTP 500: Internal Server Error$/);
      expect(row.attempts[2]).toMatch(/^#3 .* · HTTP 200 · \d+ ms$/);
    }
    expect(await page.textContent('#webhooks-meta')).toBe('2 of 2 delivered');
    expect(await page.content()).not.toContain('s3cret');
    expect(browser.problems).toEqual([]);
  });
});
