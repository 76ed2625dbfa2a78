import {
  canonicalJobId,
  decodeJobCursor,
  encodeJobCursor,
  MAX_OFFSET,
  MAX_PAGE,
  parseJobSearch,
  resultAvailability,
  type JobCursor,
  type ResultFacts,
} from '@menagerie/core';

describe('canonicalJobId', () => {
  it('lower-cases a UUID in any case, and refuses anything else', () => {
    expect(canonicalJobId('3F0C9A2E-8B1D-4C5E-9F7A-2B6D8E1C4A90')).toBe('3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90');
    for (const bad of ['', '3f0c9a2e', '3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90/..', ['3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90'], undefined]) {
      expect(() => canonicalJobId(bad)).toThrow(expect.objectContaining({ code: 'INVALID_JOB_ID' }));
    }
  });
});

describe('parseJobSearch', () => {
  const all = ['q', 'engine', 'status', 'sha256'] as const;
  const invalid = (query: Record<string, unknown>, message: RegExp) =>
    expect(() => parseJobSearch(query, all)).toThrow(
      expect.objectContaining({ code: 'INVALID_QUERY', message: expect.stringMatching(message) }),
    );

  it('gives defaults, ignores empty values and fields it was not asked for', () => {
    expect(parseJobSearch({}, all)).toEqual({ page: 1, limit: 20 });
    expect(parseJobSearch({ q: '', engine: '', status: '', page: '', limit: '' }, all)).toEqual({ page: 1, limit: 20 });
    expect(parseJobSearch({ q: 'apk', other: 'x' }, ['engine'])).toEqual({ page: 1, limit: 20 });
  });

  it('takes each field in its canonical form', () => {
    expect(
      parseJobSearch({ q: '  sample ', engine: 'apktool', status: 'failed', sha256: 'AB'.repeat(32), page: '3', limit: '100' }, all),
    ).toEqual({
      q: 'sample',
      engine: 'apktool',
      status: 'failed',
      sha256: 'ab'.repeat(32),
      page: 3,
      limit: 100,
    });
  });

  it('bounds page and limit, as whole numbers written in digits', () => {
    expect(parseJobSearch({ page: String(MAX_PAGE) }, all).page).toBe(MAX_PAGE);
    for (const page of ['0', '-1', '1.5', '1e3', ' 2', '0x10', '99999999999999999999'])
      invalid({ page }, /page must be a whole number from 1 to/);
    for (const limit of ['0', '101', 'ten']) invalid({ limit }, /limit must be a whole number from 1 to 100/);
  });

  it('refuses a page past MAX_PAGE, pointing to the cursor', () => {
    expect(MAX_PAGE).toBe(100);
    for (const page of [String(MAX_PAGE + 1), '5000'])
      invalid({ page }, /page goes up to 100; to read further, follow the `next` cursor .*\?cursor=/);
    // And at most MAX_OFFSET rows in, whatever the limit.
    expect(parseJobSearch({ page: '21', limit: '100' }, all)).toMatchObject({ page: 21, limit: 100 });
    expect(MAX_OFFSET).toBe(2000);
    invalid(
      { page: '22', limit: '100' },
      /page 22 of 100 starts past row 2000, as deep as numbered pages go; to read further, follow the `next` cursor/,
    );
  });

  it('takes a cursor it made, and not together with page', () => {
    const cursor: JobCursor = { direction: 'older', createdAt: '2026-01-02T03:04:05.123456Z', id: '3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90' };
    expect(parseJobSearch({ cursor: encodeJobCursor(cursor), limit: '5' }, all)).toEqual({ page: 1, limit: 5, cursor });
    const newer = { ...cursor, direction: 'newer' as const };
    expect(decodeJobCursor(encodeJobCursor(newer))).toEqual(newer);
    invalid({ cursor: encodeJobCursor(cursor), page: '2' }, /give page or cursor, not both/);
  });

  it('refuses a cursor it did not make, saying where cursors come from', () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    const id = '3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90';
    for (const cursor of [
      'nonsense',
      '!!!!',
      'a'.repeat(201),
      b64(`o|2026-01-02T03:04:05.123456Z`),
      b64(`x|2026-01-02T03:04:05.123456Z|${id}`),
      b64(`o|2026-01-02T03:04:05.123Z|${id}`), // milliseconds only: rows in the same millisecond would be skipped
      b64(`o|2026-13-45T03:04:05.123456Z|${id}`),
      b64(`o|2026-02-30T03:04:05.123456Z|${id}`),
      b64(`o|2026-01-02T03:04:05.123456Z|${id.toUpperCase()}`),
      b64(`o|2026-01-02T03:04:05.123456Z|${id}|extra`),
      b64(`o|2026-01-02T03:04:05.123456Z|1; DROP TABLE jobs`),
    ]) {
      invalid({ cursor }, /cursor is not one this API gave: pass the `next` or `prev` of an answer from GET \/jobs unchanged/);
    }
  });

  it('searches by parts of at least three characters', () => {
    for (const q of ['a', 'ab', ' ab '])
      invalid({ q }, /q must be at least 3 characters: a part of the file name, or the start of a sha256/);
    expect(parseJobSearch({ q: 'abc' }, all).q).toBe('abc');
    expect(parseJobSearch({ q: '   ' }, all).q).toBeUndefined();
  });

  it('refuses repeated parameters, unknown statuses, bad hashes and long values', () => {
    invalid({ engine: ['a', 'b'] }, /give engine once/);
    invalid({ q: { nested: 'x' } }, /give q once/);
    invalid({ status: 'exploded' }, /status must be one of queued/);
    invalid({ sha256: 'abc' }, /sha256 must be 64 hex digits/);
    invalid({ q: 'x'.repeat(256) }, /q must be at most 255 characters/);
  });
});

describe('resultAvailability', () => {
  const job = (facts: Partial<ResultFacts>): ResultFacts => ({ status: 'completed', resultName: 'r.json', expiredAt: null, ...facts });

  it('is available only for a completed job with a result, not expired', () => {
    expect(resultAvailability(job({}))).toEqual({ available: true });
    expect(resultAvailability(job({ resultName: null }))).toEqual({
      available: false,
      code: 'RESULT_NOT_READY',
      reason: 'the job ended completed without a result',
    });
    expect(resultAvailability(job({ status: 'failed', resultName: null }))).toMatchObject({
      code: 'RESULT_NOT_READY',
      reason: 'the job ended failed without a result',
    });
    expect(resultAvailability(job({ status: 'running', resultName: null }))).toMatchObject({
      code: 'RESULT_NOT_READY',
      reason: 'the job is still running',
    });
    expect(resultAvailability(job({ expiredAt: new Date('2024-01-02T03:04:05Z') }))).toEqual({
      available: false,
      code: 'RESULT_EXPIRED',
      reason: 'the files were removed by retention on 2024-01-02T03:04:05.000Z',
    });
  });
});
