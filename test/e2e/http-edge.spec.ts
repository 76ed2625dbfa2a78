import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { writeEnginesFile } from '../support/engines-file';
import { body, queueBytes, waitForJob, type Job } from '../support/http';
import { startSystem, type System } from '../support/system';
import { until } from '../support/until';

jest.setTimeout(300_000);

const RESULT_BYTES = 16_000_000;
const LOG_BYTES = 12_000_000;

/** The edges of the HTTP interface: ids in any case, bad query values, and downloads cut short. */
describe('HTTP edges', () => {
  let sys: System;
  let big: Job;

  beforeAll(async () => {
    const enginesFile = writeEnginesFile([
      // Returns its input as the result, and writes a log of LOG_BYTES.
      {
        name: 'echo',
        cmd: ['sh', '-c', `cat /var/data/input > /var/data/result && head -c ${LOG_BYTES} /dev/zero | tr '\\0' x`],
        sizelimit: 50_000_000,
      },
    ]);
    sys = await startSystem({ enginesFile, settings: { logLimitBytes: LOG_BYTES } });
    big = await waitForJob(sys.baseUrl, (await queueBytes(sys.baseUrl, 'echo', randomBytes(RESULT_BYTES), 'big.bin')).jobid, 120_000);
    expect(big.status).toBe('completed');
  });
  afterAll(async () => {
    await sys?.stop();
  });

  const get = (path: string) => fetch(`${sys.baseUrl}${path}`);

  it('takes a job id in upper case everywhere: status, link, log, preview, cancel', async () => {
    const upper = big.jobid.toUpperCase();
    const link = await get(`/link/${upper}`);
    expect(link.status).toBe(200);
    const bytes = Buffer.from(await link.arrayBuffer());
    expect(bytes.length).toBe(RESULT_BYTES);
    expect(bytes.equals(Buffer.from(await (await get(`/link/${big.jobid}`)).arrayBuffer()))).toBe(true);
    for (const path of [`/result/${upper}`, `/jobs/${upper}`]) expect((await body(await get(path))).jobid).toBe(big.jobid);
    const log = await get(`/console/api/jobs/${upper}/log`);
    expect(log.status).toBe(200);
    expect(Number(log.headers.get('x-log-size'))).toBe(LOG_BYTES);
    await log.arrayBuffer();
    expect((await body(await get(`/console/api/jobs/${upper}/preview`))).kind).toBe('binary');
    expect((await get(`/console/jobs/${upper}`)).status).toBe(200);
    const cancel = await fetch(`${sys.baseUrl}/jobs/${upper}`, { method: 'DELETE' });
    expect(cancel.status).toBe(409);
    expect((await body(cancel)).error).toBe('JOB_NOT_CANCELLABLE');
    // Still not a UUID in any case.
    expect((await body(await get(`/link/${upper.slice(1)}`))).error).toBe('INVALID_JOB_ID');
  });

  it.each([
    ['/jobs?page=99999999999999999999', /page must be a whole number from 1 to/],
    ['/jobs?page=101', /page goes up to 100; to read further, follow the `next` cursor .*\?cursor=/],
    ['/jobs?cursor=bm9wZQ', /cursor is not one this API gave: pass the `next` or `prev` of an answer from GET \/jobs unchanged/],
    ['/jobs?cursor=%21', /cursor is not one this API gave/],
    [
      `/jobs?cursor=${Buffer.from(`o|2026-02-30T00:00:00.000000Z|${randomUUID()}`).toString('base64url')}`,
      /cursor is not one this API gave/,
    ],
    ['/jobs?cursor=x&page=2', /give page or cursor, not both/],
    ['/console/api/jobs?q=ab', /q must be at least 3 characters/],
    ['/jobs?page=1e3', /page must be a whole number/],
    ['/jobs?limit=101', /limit must be a whole number from 1 to 100/],
    ['/jobs?engine=%00', /control characters/],
    ['/jobs?engine=a&engine=b', /give engine once/],
    ['/jobs?sha256=x%1f', /control characters/],
    ['/jobs?status=%C2%85', /control characters/],
    ['/console/api/jobs?q=x%00', /control characters/],
    ['/console/api/jobs?q=%7F', /control characters/],
    ['/console/api/jobs?page=99999999999999999999', /page must be a whole number/],
    [`/result/${randomUUID()}?wait=%00`, /control characters/],
  ])('answers %s with 400 INVALID_QUERY', async (path, message) => {
    const res = await get(path);
    expect(res.status).toBe(400);
    expect(await body(res)).toMatchObject({ error: 'INVALID_QUERY', message: expect.stringMatching(message) });
  });

  it('orders /jobs and the console search alike: newest first, then by id, descending', async () => {
    // Three rows created in the same instant: only the tie-break orders them.
    const at = new Date('2001-01-01T00:00:00Z');
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of ids) {
      await sys.db.query(
        `INSERT INTO jobs (id, engine, status, original_name, size, sha256, image, workflow_id, created_at)
         VALUES ($1, 'tied', 'failed', 'tied.bin', 1, $2, 'x', $3, $4)`,
        [id, 'a'.repeat(64), `job-${id}`, at],
      );
    }
    const expected = [...ids].sort().reverse();
    const api = await body(await get('/jobs?engine=tied'));
    const console = await body(await get('/console/api/jobs?engine=tied&q=tied'));
    expect(api.items.map((j: Job) => j.jobid)).toEqual(expected);
    expect(console.items.map((j: Job) => j.jobid)).toEqual(expected);
    // Paging splits the same order, by number and by cursor.
    const pages = [await body(await get('/jobs?engine=tied&limit=2&page=1')), await body(await get('/jobs?engine=tied&limit=2&page=2'))];
    expect(pages.flatMap((p) => p.items.map((j: Job) => j.jobid))).toEqual(expected);
    expect(pages[0]).toMatchObject({ total: 3, totalExact: true, page: 1, limit: 2, pages: 2, prev: null, prevUrl: null });
    // nextUrl keeps the filters and the limit; the tie inside one instant is no obstacle to the cursor.
    expect(pages[0].nextUrl).toBe(`${sys.baseUrl}/jobs?engine=tied&limit=2&cursor=${pages[0].next}`);
    const second = await body(await fetch(pages[0].nextUrl));
    expect(second).toMatchObject({ page: null, total: 3, next: null, nextUrl: null });
    expect(second.items.map((j: Job) => j.jobid)).toEqual(expected.slice(2));
    const back = await body(await fetch(second.prevUrl));
    expect(back.items.map((j: Job) => j.jobid)).toEqual(expected.slice(0, 2));
    const consolePage = await body(await get('/console/api/jobs?engine=tied&q=tied&limit=2'));
    expect(consolePage.nextUrl).toBe(`${sys.baseUrl}/console/api/jobs?q=tied&engine=tied&limit=2&cursor=${consolePage.next}`);
    expect((await body(await fetch(consolePage.nextUrl))).items.map((j: Job) => j.jobid)).toEqual(expected.slice(2));
  });

  /**
   * Downloads cut off by the client: each on a raw socket that reads the
   * first bytes and then resets. The API runs in this process, so
   * /proc/self/fd counts its descriptors: the file each download opened must
   * be closed again.
   */
  describe('a download the client resets leaves no open descriptor', () => {
    /** The API's open descriptors on files in the store (by /proc/self/fd, as the API runs in this process). */
    const storeFds = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${sys.config.storageDir}/`);
        } catch {
          return false; // closed meanwhile (the directory's own descriptor, for one)
        }
      }).length;

    /** GETs `path`, waits for the first bytes of the answer, then resets the connection. */
    async function resetMidDownload(path: string, atFirstByte: boolean): Promise<void> {
      const url = new URL(sys.baseUrl);
      const socket: Socket = connect(Number(url.port), url.hostname);
      await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      socket.on('error', () => undefined);
      const started = new Promise<void>((resolve) => socket.once('data', () => resolve()));
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
      if (atFirstByte) await started;
      socket.pause(); // read no more: the API's writes back up
      socket.resetAndDestroy();
      await until('the client socket is closed', async () => socket.closed, 10_000, 20);
    }

    async function expectReleased(paths: string[], atFirstByte: boolean): Promise<void> {
      await until('no file of the store is open', async () => storeFds() === 0, 5_000, 50);
      for (let i = 0; i < 20; i++) await resetMidDownload(paths[i % paths.length], atFirstByte);
      // A leak is one descriptor per download, until (at best) its handle is garbage-collected.
      await until('the files of 20 reset downloads are closed', async () => storeFds() === 0, 5_000, 50);
      // And a download that runs to its end still works.
      const whole = await get(paths[0]);
      expect(whole.status).toBe(200);
      expect((await whole.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }

    it('on /link', async () => {
      await expectReleased([`/link/${big.jobid}`], true);
    });

    it("on the console's log", async () => {
      await expectReleased([`/console/api/jobs/${big.jobid}/log`], true);
    });

    it("on the console's preview", async () => {
      await expectReleased([`/console/api/jobs/${big.jobid}/preview`], false);
    });
  });

  it('answers HEAD of a download with its headers only', async () => {
    for (const path of [`/link/${big.jobid}`, `/console/api/jobs/${big.jobid}/log`]) {
      const res = await fetch(`${sys.baseUrl}${path}`, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(Number(res.headers.get('content-length'))).toBeGreaterThan(0);
      expect((await res.arrayBuffer()).byteLength).toBe(0);
    }
  });
});
