import { connect } from 'node:net';
import { expectJsonError } from '../support/api-errors';
import { writeEnginesFile } from '../support/engines-file';
import { body, uploadBytes } from '../support/http';
import { parseAnswer } from '../support/raw-http';
import { startSystem, type System } from '../support/system';
import { until } from '../support/until';
import { CUT, postMultipart, sendChunked } from '../support/upload-bodies';
import { useEarlyEnds, useUploadLeftovers } from '../support/upload-leftovers';

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

  const leftovers = useUploadLeftovers(() => sys);
  const { track, stored, expectNothingStored } = leftovers;

  it('404 for an unknown engine', async () => {
    const message = await expectJsonError(await uploadBytes(sys.baseUrl, 'nosuch', 'x'), 404, 'ENGINE_UNKNOWN');
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
    await expectJsonError(res, 415, 'NOT_MULTIPART');
    await expectNothingStored();
  });

  it('400 when the upload field is missing', async () => {
    const form = new FormData();
    form.append('file', new Blob(['x']), 'x');
    await expectJsonError(await fetch(`${sys.baseUrl}/tiny/upload`, { method: 'POST', body: form }), 400, 'UPLOAD_MISSING');
    const fields = new FormData();
    fields.append('note', 'hello');
    await expectJsonError(await fetch(`${sys.baseUrl}/tiny/upload`, { method: 'POST', body: fields }), 400, 'UPLOAD_MISSING');
    await expectNothingStored();
  });

  it('400 for more than one file', async () => {
    const form = new FormData();
    form.append('upload', new Blob(['a']), 'a');
    form.append('upload', new Blob(['b']), 'b');
    await expectJsonError(await fetch(`${sys.baseUrl}/tiny/upload`, { method: 'POST', body: form }), 400, 'UPLOAD_TOO_MANY_FILES');
    await expectNothingStored();
  });

  it('400 for an empty file', async () => {
    await expectJsonError(await uploadBytes(sys.baseUrl, 'tiny', ''), 400, 'UPLOAD_EMPTY');
    await expectNothingStored();
  });

  it(
    '413 over the size limit, declared or streamed',
    async () => {
      const message = await expectJsonError(await uploadBytes(sys.baseUrl, 'tiny', Buffer.alloc(5000)), 413, 'UPLOAD_TOO_LARGE');
      expect(message).toContain('1000 bytes');
      await expectNothingStored();

      // Chunked, so no Content-Length gives it away: the limit is enforced while streaming.
      const chunked = { chunk: Buffer.alloc(64 * 1024), stopAt: 50_000_000, stopOnAnswer: false };
      const { status } = await sendChunked(`${sys.baseUrl}/tiny/upload`, 'big.bin', track, chunked);
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
      const chunked = { chunk: Buffer.alloc(256 * 1024, 7), stopAt: Math.min(2_000_000_000, limit * 4), stopOnAnswer: true };
      const { status, bytesSent } = await sendChunked(`${sys.baseUrl}/bigone/upload`, 'huge.apk', track, chunked);
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
    const { HEAD, TAIL, MB } = CUT;
    const { rawUpload, uploadStored, closedByApi, expectReleased } = useEarlyEnds(() => sys, leftovers, '/bigone/upload');

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
    const res = await postMultipart(`${sys.baseUrl}/tiny/upload`, raw);
    await expectJsonError(res, 400, 'MALFORMED_UPLOAD');
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
    const res = await postMultipart(`${sys.baseUrl}/tiny/upload`, raw);
    expect(res.status).toBe(201);
    const job = await body(res);
    expect(job.input.name).toBe(kept);
    expect(await stored().ids()).toEqual([job.jobid]);
    expect(await stored().names(job.jobid)).toEqual(['input']);
    const link = await fetch(`${sys.baseUrl}/result/${job.jobid}`);
    expect((await body(link)).input.name).toBe(kept);
  });

  it('400 for a malformed job id, 404 for an unknown one', async () => {
    await expectJsonError(await fetch(`${sys.baseUrl}/result/not-a-uuid`), 400, 'INVALID_JOB_ID');
    await expectJsonError(await fetch(`${sys.baseUrl}/link/..%2F..%2Fetc%2Fpasswd`), 400, 'INVALID_JOB_ID');
    await expectJsonError(await fetch(`${sys.baseUrl}/result/3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90`), 404, 'JOB_NOT_FOUND');
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
    await expectJsonError(res, 503, 'SCHEDULER_UNAVAILABLE');
    const rows = await sys.db.query('SELECT count(*)::int AS n FROM jobs');
    expect(rows[0].n).toBe(0);
    expect(await stored().ids()).toEqual([]);
  });
});
