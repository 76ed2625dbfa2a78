import { readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { writeEnginesFile } from '../support/engines-file';
import { body, uploadBytes } from '../support/http';
import { startSystem, type System } from '../support/system';

jest.setTimeout(300_000);

/** Bad uploads get the right status and a JSON message, and leave nothing behind. */
describe('upload errors', () => {
  let sys: System;

  beforeAll(async () => {
    const enginesFile = writeEnginesFile([
      { name: 'tiny', cmd: ['true'], sizelimit: 1000 },
      { name: 'bigone', cmd: ['true'], sizelimit: 50_000_000 },
    ]);
    sys = await startSystem({ enginesFile, worker: false });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  afterEach(async () => {
    if (!sys.env) return;
    const rows: Array<{ id: string }> = await sys.db.query('SELECT id FROM jobs');
    for (const { id } of rows) {
      await sys.env.client.workflow.getHandle(`job-${id}`).terminate('test cleanup').catch(() => undefined);
      rmSync(join(sys.config.storageDir, 'store', id), { recursive: true, force: true });
    }
    await sys.db.query('DELETE FROM jobs');
  });

  async function expectNothingStored(): Promise<void> {
    const rows = await sys.db.query('SELECT count(*)::int AS n FROM jobs');
    expect(rows[0].n).toBe(0);
    expect(readdirSync(join(sys.config.storageDir, 'store'))).toEqual([]);
    const workflows = [];
    for await (const wf of sys.env.client.workflow.list()) workflows.push(wf.workflowId);
    expect(workflows).toEqual([]);
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

  it('415 for a body that is not multipart', async () => {
    const res = await fetch(`${sys.baseUrl}/tiny/upload`, { method: 'POST', body: 'raw', headers: { 'content-type': 'application/octet-stream' } });
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

  it('413 over the size limit, declared or streamed', async () => {
    const message = await expectError(await uploadBytes(sys.baseUrl, 'tiny', Buffer.alloc(5000)), 413, 'UPLOAD_TOO_LARGE');
    expect(message).toContain('1000 bytes');
    await expectNothingStored();

    // Chunked, so no Content-Length gives it away: the limit is enforced while streaming.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${sys.baseUrl}/tiny/upload`, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=XYZ', 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => resolve(res.statusCode!));
      req.on('error', reject);
      req.write('--XYZ\r\nContent-Disposition: form-data; name="upload"; filename="big.bin"\r\n\r\n');
      let sent = 0;
      const pump = () => {
        while (sent < 50_000_000) {
          sent += 64 * 1024;
          if (!req.write(Buffer.alloc(64 * 1024))) return void req.once('drain', pump);
        }
      };
      pump();
    });
    expect(status).toBe(413);
    await expectNothingStored();
  });

  it('cuts a 2 GB upload off at the limit, reading and storing next to nothing', async () => {
    // Chunked, against the real apktool limit of 50 MB, from a generator that would produce 2 GB.
    const limit = 50_000_000;
    let sent = 0;
    const { status, bytesSent } = await new Promise<{ status: number; bytesSent: number }>((resolve, reject) => {
      const req = request(`${sys.baseUrl}/bigone/upload`, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=XYZ', 'transfer-encoding': 'chunked' },
      });
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
        while (!done && sent < 2_000_000_000) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
      };
      pump();
    });
    expect(status).toBe(413);
    expect(bytesSent).toBeLessThan(limit * 4);
    await expectNothingStored();
  });

  it('removes the partial file when the client disconnects mid-upload', async () => {
    await new Promise<void>((resolve) => {
      const req = request(`${sys.baseUrl}/bigone/upload`, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=XYZ', 'transfer-encoding': 'chunked' },
      });
      req.on('error', () => resolve());
      req.write('--XYZ\r\nContent-Disposition: form-data; name="upload"; filename="partial.apk"\r\n\r\n');
      req.write(Buffer.alloc(1_000_000, 1), () => setTimeout(() => {
        req.destroy();
        resolve();
      }, 300));
    });
    await new Promise((r) => setTimeout(r, 1500));
    await expectNothingStored();
  });

  it('400 for a raw NUL byte in a part header, with nothing stored', async () => {
    const raw = Buffer.from('--XYZ\r\nContent-Disposition: form-data; name="upload"; filename="evil\u0000.apk"\r\n\r\nx\r\n--XYZ--\r\n');
    const res = await fetch(`${sys.baseUrl}/tiny/upload`, { method: 'POST', body: raw, headers: { 'content-type': 'multipart/form-data; boundary=XYZ' } });
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
    const res = await fetch(`${sys.baseUrl}/tiny/upload`, { method: 'POST', body: raw, headers: { 'content-type': 'multipart/form-data; boundary=XYZ' } });
    expect(res.status).toBe(201);
    const job = await body(res);
    expect(job.input.name).toBe(kept);
    expect(readdirSync(join(sys.config.storageDir, 'store'))).toEqual([job.jobid]);
    expect(readdirSync(join(sys.config.storageDir, 'store', job.jobid))).toEqual(['input']);
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
    expect(job.input.name).toContain('<script>');
    const dirs = readdirSync(join(sys.config.storageDir, 'store'));
    expect(dirs).toEqual([job.jobid]);
    expect(readdirSync(join(sys.config.storageDir, 'store', job.jobid))).toEqual(['input']);
  });

  it('503 when Temporal is down, with no row, file or workflow left', async () => {
    await sys.env.teardown();
    const res = await uploadBytes(sys.baseUrl, 'tiny', 'content');
    await expectError(res, 503, 'SCHEDULER_UNAVAILABLE');
    const rows = await sys.db.query('SELECT count(*)::int AS n FROM jobs');
    expect(rows[0].n).toBe(0);
    expect(readdirSync(join(sys.config.storageDir, 'store'))).toEqual([]);
  });
});
