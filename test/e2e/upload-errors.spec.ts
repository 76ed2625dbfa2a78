import { request, type ClientRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { writeEnginesFile } from '../support/engines-file';
import { body, uploadBytes } from '../support/http';
import { descriptorsBesides, parseAnswer, rawUploadHead, type Raw } from '../support/raw-http';
import { storedOf } from '../support/stored';
import { startSystem, type System } from '../support/system';
import { until } from '../support/until';

jest.setTimeout(300_000);

/** The upload idle timeout this suite runs with, so a stalled client is given up on quickly. */
const IDLE_SECONDS = 1;
/** A streaming test whose limit broke would otherwise pump for minutes and fill the disk. */
const STREAMING_TEST_MS = 30_000;

/** Bad uploads get the right status and a JSON message, and leave nothing behind. */
describe('upload errors', () => {
  let sys: System;

  beforeAll(async () => {
    const enginesFile = writeEnginesFile([
      { name: 'tiny', cmd: ['true'], sizelimit: 1000 },
      { name: 'bigone', cmd: ['true'], sizelimit: 50_000_000 },
    ]);
    sys = await startSystem({
      enginesFile,
      worker: false,
      settings: { api: { port: 0, host: '127.0.0.1', uploadIdleSeconds: IDLE_SECONDS } },
    });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  /** Client requests and sockets a test opened; closed after it even when it failed or timed out. */
  const open = new Set<ClientRequest | Socket>();
  function track<T extends ClientRequest | Socket>(client: T): T {
    open.add(client);
    client.once('close', () => open.delete(client));
    return client;
  }
  const stored = () => storedOf(sys.config);

  afterEach(async () => {
    for (const client of open) client.destroy();
    open.clear();
    if (!sys.env) return;
    // Whatever a test left, failed or not (a row, a workflow, a partial upload), must not fail the tests after it.
    const rows: Array<{ id: string }> = await sys.db.query('SELECT id FROM jobs');
    for (const { id } of rows) {
      earlier.add(`job-${id}`);
      await sys.env.client.workflow
        .getHandle(`job-${id}`)
        .terminate('test cleanup')
        .catch(() => undefined);
    }
    await sys.db.query('DELETE FROM jobs');
    await stored().clear();
    for (const id of await workflowIds().catch(() => [])) earlier.add(id);
  });

  /** Workflows of earlier tests: terminated, but still listed. */
  const earlier = new Set<string>();
  async function workflowIds(): Promise<string[]> {
    const ids = [];
    for await (const wf of sys.env.client.workflow.list()) ids.push(wf.workflowId);
    return ids;
  }

  async function expectNothingStored(): Promise<void> {
    const rows = await sys.db.query('SELECT count(*)::int AS n FROM jobs');
    expect(rows[0].n).toBe(0);
    expect(await stored().ids()).toEqual([]);
    expect((await workflowIds()).filter((id) => !earlier.has(id))).toEqual([]);
  }

  async function expectError(res: Response, status: number, error: string): Promise<string> {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const answer = await body(res);
    expect(answer.error).toBe(error);
    expect(typeof answer.message).toBe('string');
    return answer.message;
  }

  it('404 for an unknown engine', async () => {
    const message = await expectError(await uploadBytes(sys.baseUrl, 'nosuch', 'x'), 404, 'ENGINE_UNKNOWN');
    expect(message).toContain('nosuch');
    await expectNothingStored();
  });

  it('a refused small upload is read to its end and answered on a connection that stays usable', async () => {
    // The client sends its head, then its body; the answer must wait for the body (a client still
    // sending would otherwise get a broken pipe instead of the 404) and keep the connection open.
    const url = new URL(sys.baseUrl);
    const socket = track(connect(Number(url.port), url.hostname));
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const received = () => Buffer.concat(chunks).toString('latin1');
    const form = Buffer.from(
      '--XYZ\r\nContent-Disposition: form-data; name="upload"; filename="x"\r\n\r\n' + 'x'.repeat(50_000) + '\r\n--XYZ--\r\n',
    );
    socket.write(
      `POST /nosuch/upload HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: ${form.length}\r\n\r\n`,
    );
    socket.write(form);
    await until('the 404 arrives', async () => /\r\n\r\n\{.*\}$/s.test(received()), 10_000, 20);
    const first = received();
    expect(first).toMatch(/^HTTP\/1\.1 404 /);
    expect(first).not.toMatch(/^connection: close/im);
    expect(first).toContain('"error":"ENGINE_UNKNOWN"');
    chunks.length = 0;
    socket.write(`GET /health HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
    await until('the same connection answers a second request', async () => /^HTTP\/1\.1 \d{3} /.test(received()), 10_000, 20);
    expect(socket.destroyed).toBe(false);
    await expectNothingStored();
  });

  it('415 for a body that is not multipart', async () => {
    const res = await fetch(`${sys.baseUrl}/tiny/upload`, {
      method: 'POST',
      body: 'raw',
      headers: { 'content-type': 'application/octet-stream' },
    });
    await expectError(res, 415, 'NOT_MULTIPART');
    await expectNothingStored();
  });

  it('400 when the upload field is missing', async () => {
    const form = new FormData();
    form.append('file', new Blob(['x']), 'x');
    await expectError(await fetch(`${sys.baseUrl}/tiny/upload`, { method: 'POST', body: form }), 400, 'UPLOAD_MISSING');
    const fields = new FormData();
    fields.append('note', 'hello');
    await expectError(await fetch(`${sys.baseUrl}/tiny/upload`, { method: 'POST', body: fields }), 400, 'UPLOAD_MISSING');
    await expectNothingStored();
  });

  it('400 for more than one file', async () => {
    const form = new FormData();
    form.append('upload', new Blob(['a']), 'a');
    form.append('upload', new Blob(['b']), 'b');
    await expectError(await fetch(`${sys.baseUrl}/tiny/upload`, { method: 'POST', body: form }), 400, 'UPLOAD_TOO_MANY_FILES');
    await expectNothingStored();
  });

  it('400 for an empty file', async () => {
    await expectError(await uploadBytes(sys.baseUrl, 'tiny', ''), 400, 'UPLOAD_EMPTY');
    await expectNothingStored();
  });

  it(
    '413 over the size limit, declared or streamed',
    async () => {
      const message = await expectError(await uploadBytes(sys.baseUrl, 'tiny', Buffer.alloc(5000)), 413, 'UPLOAD_TOO_LARGE');
      expect(message).toContain('1000 bytes');
      await expectNothingStored();

      // Chunked, so no Content-Length gives it away: the limit is enforced while streaming.
      const status = await new Promise<number>((resolve, reject) => {
        const req = track(
          request(`${sys.baseUrl}/tiny/upload`, {
            method: 'POST',
            headers: { 'content-type': 'multipart/form-data; boundary=XYZ', 'transfer-encoding': 'chunked' },
          }),
        );
        req.on('response', (res) => resolve(res.statusCode!));
        req.on('error', reject);
        req.write('--XYZ\r\nContent-Disposition: form-data; name="upload"; filename="big.bin"\r\n\r\n');
        let sent = 0;
        const pump = () => {
          while (!req.destroyed && sent < 50_000_000) {
            sent += 64 * 1024;
            if (!req.write(Buffer.alloc(64 * 1024))) return void req.once('drain', pump);
          }
        };
        pump();
      });
      expect(status).toBe(413);
      await expectNothingStored();
    },
    STREAMING_TEST_MS,
  );

  it(
    'cuts a 2 GB upload off at the limit, reading and storing next to nothing',
    async () => {
      // Chunked, against the real apktool limit of 50 MB, from a generator that would produce 2 GB.
      const limit = 50_000_000;
      let sent = 0;
      const { status, bytesSent } = await new Promise<{ status: number; bytesSent: number }>((resolve, reject) => {
        const req = track(
          request(`${sys.baseUrl}/bigone/upload`, {
            method: 'POST',
            headers: { 'content-type': 'multipart/form-data; boundary=XYZ', 'transfer-encoding': 'chunked' },
          }),
        );
        let done = false;
        req.on('response', (res) => {
          done = true;
          resolve({ status: res.statusCode!, bytesSent: sent });
          req.destroy();
        });
        req.on('error', (err) => (done ? undefined : reject(err)));
        req.write('--XYZ\r\nContent-Disposition: form-data; name="upload"; filename="huge.apk"\r\n\r\n');
        const chunk = Buffer.alloc(256 * 1024, 7);
        const pump = () => {
          while (!done && !req.destroyed && sent < 2_000_000_000 && sent < limit * 4) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          if (!done && sent >= limit * 4) {
            // No answer by now: the limit did not hold. Stop rather than write gigabytes into the store.
            done = true;
            resolve({ status: 0, bytesSent: sent });
            req.destroy();
          }
        };
        pump();
      });
      expect(bytesSent).toBeLessThan(limit * 4);
      expect(status).toBe(413);
      await expectNothingStored();
    },
    STREAMING_TEST_MS,
  );

  /**
   * Every way an upload can end early, each on a raw socket so that exactly the case's bytes
   * are on the wire. The API runs in this process, so /proc/self/fd counts its descriptors:
   * after each case the partial file is gone and the count is back where it was.
   */
  describe('an upload that ends early leaves no file and no open descriptor', () => {
    const HEAD = Buffer.from('--XYZ\r\nContent-Disposition: form-data; name="upload"; filename="cut.apk"\r\n\r\n');
    const TAIL = Buffer.from('\r\n--XYZ--\r\n');
    const MB = Buffer.alloc(1_000_000, 1);
    /** What an upload could leak in this process (see descriptorsBesides). */
    const fds = () => descriptorsBesides(Number(new URL(sys.baseUrl).port));
    let baseline = 0;

    /** Opens a connection to the API and sends the head of an upload to bigone. */
    const rawUpload = (headers: Record<string, string | number>): Promise<Raw> =>
      rawUploadHead(sys.baseUrl, '/bigone/upload', headers, track);

    /**
     * Resolves once the API has started writing the upload to the store: a
     * partial file shows at once in a directory; an S3 multipart upload shows
     * only past its first part, so there, once the bytes are all on the wire.
     */
    const uploadStored = (raw: Raw) =>
      sys.config.settings.storage.kind === 'fs'
        ? until('the upload reaches the store', async () => (await stored().ids()).length > 0, 10_000, 20)
        : until('the upload is on the wire', async () => raw.socket.writableLength === 0, 10_000, 20);

    /** Resolves once the API has closed the connection, with what it answered. */
    async function closedByApi(raw: Raw): Promise<string> {
      await until('the API closes the connection', async () => raw.socket.closed, 10_000, 20);
      return raw.answer;
    }

    beforeEach(() => {
      baseline = fds();
    });

    async function expectReleased(): Promise<void> {
      await until('the partial upload is removed', async () => (await stored().ids()).length === 0, 10_000, 50);
      await until(`the API's descriptors are back to ${baseline}`, async () => fds() <= baseline, 10_000, 50);
      const rows = await sys.db.query('SELECT count(*)::int AS n FROM jobs');
      expect(rows[0].n).toBe(0);
    }

    it('the client closes the connection mid-body (chunked)', async () => {
      const raw = await rawUpload({ 'Transfer-Encoding': 'chunked' });
      const chunk = Buffer.concat([HEAD, MB]);
      raw.socket.write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
      await uploadStored(raw);
      raw.socket.end();
      await expectReleased();
    });

    it('the connection is reset mid-body', async () => {
      const raw = await rawUpload({ 'Content-Length': 10_000_000 });
      raw.socket.write(Buffer.concat([HEAD, MB]));
      await uploadStored(raw);
      raw.socket.resetAndDestroy();
      await expectReleased();
    });

    it('the body is longer than its Content-Length', async () => {
      // Node reads 200 kB as the body, takes the rest for a bad next request and destroys the socket.
      const raw = await rawUpload({ 'Content-Length': 200_000 });
      raw.socket.write(Buffer.concat([HEAD, MB, MB, MB, MB, TAIL]));
      await closedByApi(raw);
      await expectReleased();
    });

    it('the body is shorter than its Content-Length, then the client closes', async () => {
      // The whole form is there, closing boundary included: only the length says it is not all.
      const raw = await rawUpload({ 'Content-Length': 10_000_000 });
      raw.socket.write(Buffer.concat([HEAD, MB, TAIL]));
      await uploadStored(raw);
      raw.socket.end();
      await expectReleased();
    });

    it('the multipart body is malformed: 400 MALFORMED_UPLOAD', async () => {
      // A form that ends without its closing boundary, of exactly the declared length.
      const form = Buffer.concat([HEAD, MB, MB]);
      const raw = await rawUpload({ 'Content-Length': form.length });
      raw.socket.write(form);
      const answer = parseAnswer(await closedByApi(raw));
      expect(answer.status).toBe(400);
      expect(answer.head).toMatch(/content-type: application\/json/i);
      expect(answer.body.error).toBe('MALFORMED_UPLOAD');
      await expectReleased();
    });

    it('a client that trickles bytes, never idle for long, is answered 408 UPLOAD_TIMEOUT below the minimum rate', async () => {
      const raw = await rawUpload({ 'Content-Length': 10_000_000 });
      raw.socket.write(Buffer.concat([HEAD, MB]));
      await uploadStored(raw);
      // 100 bytes every 250 ms: never idle for a second, and 400 bytes a second, under api.minUploadBytesPerSecond (1024).
      const trickle = setInterval(() => !raw.socket.destroyed && raw.socket.write(Buffer.alloc(100, 0x61)), 250);
      try {
        const answer = parseAnswer(await closedByApi(raw));
        expect(answer.status).toBe(408);
        expect(answer.body).toMatchObject({
          error: 'UPLOAD_TIMEOUT',
          message: expect.stringMatching(/less than this server's minimum of 1024 bytes a second/),
        });
      } finally {
        clearInterval(trickle);
      }
      await expectReleased();
    });

    it(`a client that stalls mid-body is answered 408 UPLOAD_TIMEOUT after ${IDLE_SECONDS} s idle`, async () => {
      const raw = await rawUpload({ 'Content-Length': 10_000_000 });
      raw.socket.write(Buffer.concat([HEAD, MB]));
      await uploadStored(raw);
      const answer = parseAnswer(await closedByApi(raw));
      expect(answer.status).toBe(408);
      expect(answer.head).toMatch(/content-type: application\/json/i);
      expect(answer.body).toMatchObject({ error: 'UPLOAD_TIMEOUT', message: expect.stringContaining(`${IDLE_SECONDS} s`) });
      await expectReleased();
    });
  });

  it('400 for a raw NUL byte in a part header, with nothing stored', async () => {
    const raw = Buffer.from('--XYZ\r\nContent-Disposition: form-data; name="upload"; filename="evil\u0000.apk"\r\n\r\nx\r\n--XYZ--\r\n');
    const res = await fetch(`${sys.baseUrl}/tiny/upload`, {
      method: 'POST',
      body: raw,
      headers: { 'content-type': 'multipart/form-data; boundary=XYZ' },
    });
    await expectError(res, 400, 'MALFORMED_UPLOAD');
    await expectNothingStored();
  });

  it.each([
    ['path traversal', 'filename="../../../../etc/passwd"', 'passwd'],
    ['an encoded NUL byte', "filename*=UTF-8''evil%00.apk", 'evil.apk'],
    ['10 kB of name', `filename="${'x'.repeat(10_000)}"`, 'x'.repeat(255)],
    ['unicode', 'filename="résumé-😀-файл.apk"', 'résumé-😀-файл.apk'],
    ['markup', 'filename="<img src=x onerror=alert(1)>.apk"', '<img src=x onerror=alert(1)>.apk'],
  ])('stores a file with %s under inputfilename, keeping the name only as metadata', async (_what, param, kept) => {
    const raw = Buffer.concat([
      Buffer.from(`--XYZ\r\nContent-Disposition: form-data; name="upload"; `),
      Buffer.from(param, 'utf8'),
      Buffer.from('\r\nContent-Type: application/octet-stream\r\n\r\ncontent\r\n--XYZ--\r\n'),
    ]);
    const res = await fetch(`${sys.baseUrl}/tiny/upload`, {
      method: 'POST',
      body: raw,
      headers: { 'content-type': 'multipart/form-data; boundary=XYZ' },
    });
    expect(res.status).toBe(201);
    const job = await body(res);
    expect(job.input.name).toBe(kept);
    expect(await stored().ids()).toEqual([job.jobid]);
    expect(await stored().names(job.jobid)).toEqual(['input']);
    const link = await fetch(`${sys.baseUrl}/result/${job.jobid}`);
    expect((await body(link)).input.name).toBe(kept);
  });

  it('400 for a malformed job id, 404 for an unknown one', async () => {
    await expectError(await fetch(`${sys.baseUrl}/result/not-a-uuid`), 400, 'INVALID_JOB_ID');
    await expectError(await fetch(`${sys.baseUrl}/link/..%2F..%2Fetc%2Fpasswd`), 400, 'INVALID_JOB_ID');
    await expectError(await fetch(`${sys.baseUrl}/result/3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90`), 404, 'JOB_NOT_FOUND');
  });

  it('keeps a hostile file name only as metadata', async () => {
    const name = '../../etc/passwd\u202e<script>.apk';
    const res = await uploadBytes(sys.baseUrl, 'tiny', 'content', name);
    expect(res.status).toBe(201);
    const job = await body(res);
    expect(job.input.name).toBe('passwd<script>.apk'); // the base name, without its right-to-left override
    expect(await stored().ids()).toEqual([job.jobid]);
    expect(await stored().names(job.jobid)).toEqual(['input']);
  });

  it('503 when Temporal is down, with no row, file or workflow left', async () => {
    await sys.env.teardown();
    const res = await uploadBytes(sys.baseUrl, 'tiny', 'content');
    await expectError(res, 503, 'SCHEDULER_UNAVAILABLE');
    const rows = await sys.db.query('SELECT count(*)::int AS n FROM jobs');
    expect(rows[0].n).toBe(0);
    expect(await stored().ids()).toEqual([]);
  });
});
