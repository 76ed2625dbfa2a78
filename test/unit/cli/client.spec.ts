import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../../../apps/cli/src/client';
import { ApiError, CliError } from '../../../apps/cli/src/errors';
import { job, json, stubFetch, submission } from './fixtures';
import { tempDir } from '../../support/temp-dir';

const ID = '9a574ddf-419b-4fc3-aa29-b1133c9cb233';

describe('ApiClient', () => {
  it('sends the key as X-API-Key, and no key header without one', async () => {
    const stub = stubFetch(() => json(200, { engines: [] }));
    await new ApiClient({ url: 'http://api', apiKey: 'secret' }, stub.fn).engines();
    await new ApiClient({ url: 'http://api', apiKey: null }, stub.fn).engines();
    expect(stub.calls.map((c) => c.headers['x-api-key'])).toEqual(['secret', undefined]);
    expect(stub.calls[0].url.search).toBe('');
  });

  it('uploads to the engine, or submits to several, streaming the file as the field upload', async () => {
    const file = join(tempDir('menagerie-cli-'), 'x.txt');
    writeFileSync(file, 'hello');
    const forms: FormData[] = [];
    const stub = stubFetch((url, init) => {
      forms.push(init.body as FormData);
      return url.pathname === '/submit' ? json(201, submission([job()])) : json(201, job());
    });
    const client = new ApiClient({ url: 'http://api', apiKey: null }, stub.fn);
    expect(await client.upload(file, { kind: 'engine', engine: 'file meta' }, false)).toEqual({ job: job() });
    expect(await client.upload(file, { kind: 'submission', engines: 'auto' }, true)).toEqual({ submission: submission([job()]) });
    expect(stub.calls.map((c) => `${c.method} ${c.url.pathname}${c.url.search}`)).toEqual([
      'POST /file%20meta/upload',
      'POST /submit?force=true&engines=auto',
    ]);
    const upload = forms[0].get('upload') as File;
    expect(upload.name).toBe('x.txt');
    expect(await upload.text()).toBe('hello');
  });

  it("turns an error answer into the server's code and message", async () => {
    const stub = stubFetch(() => json(400, { error: 'INVALID_QUERY', message: 'limit must be 1 to 100' }));
    const err = await new ApiClient({ url: 'http://api', apiKey: null }, stub.fn).jobs({ limit: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'INVALID_QUERY', message: 'limit must be 1 to 100', status: 400 });
  });

  it('names the URL when no answer came', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const client = new ApiClient({ url: 'http://api:1', apiKey: null }, (async () => {
      throw new TypeError('fetch failed', { cause: refused });
    }) as typeof fetch);
    const err = await client.job(ID, 60).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect(err).toMatchObject({
      code: 'CONNECTION_FAILED',
      message: `GET http://api:1/result/${ID}?wait=60: ECONNREFUSED: connection refused`,
    });
  });

  it('explains an upload cut off by the API (EPIPE) from the engine limits, and only then asks for them', async () => {
    const file = join(tempDir('menagerie-cli-'), 'big.bin');
    writeFileSync(file, Buffer.alloc(5000));
    const epipe = () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }) });
    };
    const stub = stubFetch((url) =>
      url.pathname === '/engines'
        ? json(200, {
            engines: [
              { name: 'tiny', sizelimit: 1000 },
              { name: 'big', sizelimit: 1e6 },
            ],
          })
        : epipe(),
    );
    const client = new ApiClient({ url: 'http://api', apiKey: null }, stub.fn);
    await expect(client.upload(file, { kind: 'engine', engine: 'tiny' }, false)).rejects.toMatchObject({
      code: 'UPLOAD_TOO_LARGE',
      message:
        "the file (5000 bytes) is larger than engine tiny's limit of 1000 bytes (the API closed the connection while the file was sent)",
    });
    // Under the limit, the connection failure stays what it was.
    await expect(client.upload(file, { kind: 'engine', engine: 'big' }, false)).rejects.toMatchObject({
      code: 'CONNECTION_FAILED',
      reason: 'EPIPE',
    });
    expect(stub.calls.map((c) => `${c.method} ${c.url.pathname}`)).toEqual([
      'POST /tiny/upload',
      'GET /engines',
      'POST /big/upload',
      'GET /engines',
    ]);
  });

  it('finds a submission when no job has the id, and says so when neither has', async () => {
    const sub = submission([job()]);
    const stub = stubFetch((url) =>
      url.pathname.startsWith('/result/')
        ? json(404, { error: 'JOB_NOT_FOUND', message: 'no job' })
        : url.pathname === `/submission/${ID}`
          ? json(200, sub)
          : json(404, { error: 'SUBMISSION_NOT_FOUND', message: 'no submission' }),
    );
    const client = new ApiClient({ url: 'http://api', apiKey: null }, stub.fn);
    expect(await client.jobOrSubmission(ID)).toEqual({ submission: sub });
    await expect(client.jobOrSubmission('3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('does not look for a submission after another error', async () => {
    const stub = stubFetch(() => json(400, { error: 'INVALID_JOB_ID', message: 'not a UUID' }));
    await expect(new ApiClient({ url: 'http://api', apiKey: null }, stub.fn).jobOrSubmission('nope')).rejects.toMatchObject({
      code: 'INVALID_JOB_ID',
    });
    expect(stub.calls).toHaveLength(1);
  });

  it('cancels a job, or else the submission, saying whether it is still stopping', async () => {
    const stub = stubFetch((url) =>
      url.pathname.startsWith('/jobs/')
        ? json(404, { error: 'JOB_NOT_FOUND', message: 'no job' })
        : json(202, submission([job({ status: 'running' })])),
    );
    const answer = await new ApiClient({ url: 'http://api', apiKey: null }, stub.fn).cancel(ID);
    expect(answer.stopping).toBe(true);
    expect('submission' in answer).toBe(true);
    expect(stub.calls.map((c) => `${c.method} ${c.url.pathname}`)).toEqual([`DELETE /jobs/${ID}`, `DELETE /submission/${ID}`]);
  });
});
