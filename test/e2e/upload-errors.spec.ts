import { readdirSync } from 'node:fs';
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
    const enginesFile = writeEnginesFile([{ name: 'tiny', cmd: ['true'], sizelimit: 1000 }]);
    sys = await startSystem({ enginesFile, worker: false });
  });
  afterAll(async () => {
    await sys?.stop();
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
    await sys.db.query('DELETE FROM jobs');
    await sys.env.client.workflow.getHandle(`job-${job.jobid}`).terminate('test cleanup');
  });

  it('503 when Temporal is down, with no row, file or workflow left', async () => {
    await sys.db.query('DELETE FROM jobs');
    const { rmSync } = await import('node:fs');
    for (const d of readdirSync(join(sys.config.storageDir, 'store'))) rmSync(join(sys.config.storageDir, 'store', d), { recursive: true });
    await sys.env.teardown();
    const res = await uploadBytes(sys.baseUrl, 'tiny', 'content');
    await expectError(res, 503, 'SCHEDULER_UNAVAILABLE');
    const rows = await sys.db.query('SELECT count(*)::int AS n FROM jobs');
    expect(rows[0].n).toBe(0);
    expect(readdirSync(join(sys.config.storageDir, 'store'))).toEqual([]);
  });
});
