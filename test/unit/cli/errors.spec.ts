import {
  ApiError,
  apiErrorFrom,
  CliError,
  connectionReason,
  describeError,
  EXIT,
  exitCodeOf,
  UsageError,
} from '../../../apps/cli/src/errors';

describe('apiErrorFrom', () => {
  it("keeps the server's code and message", () => {
    const err = apiErrorFrom(
      413,
      'Payload Too Large',
      JSON.stringify({ error: 'UPLOAD_TOO_LARGE', message: 'the file is larger than 1000 bytes' }),
    );
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'UPLOAD_TOO_LARGE', message: 'the file is larger than 1000 bytes', status: 413 });
  });

  it('adds the engines an ENGINE_UNKNOWN lists', () => {
    const err = apiErrorFrom(
      404,
      'Not Found',
      JSON.stringify({ error: 'ENGINE_UNKNOWN', message: 'no engine named "x"', engines: ['apktool', 'filemeta'] }),
    );
    expect(describeError(err)).toBe('ENGINE_UNKNOWN: no engine named "x" (engines: apktool, filemeta)');
  });

  it("describes an answer that is not the API's JSON by its status, on one line", () => {
    const err = apiErrorFrom(502, 'Bad Gateway', '<html>\n<body>\n<h1>502 Bad Gateway</h1>\n</body></html>');
    expect(err.code).toBe('HTTP_502');
    expect(describeError(err)).toBe('HTTP_502: Bad Gateway: <html> <body> <h1>502 Bad Gateway</h1> </body></html>');
    expect(apiErrorFrom(500, '', '').message).toBe('the server answered an error');
    expect(apiErrorFrom(400, 'Bad Request', '{"no":"code"}').code).toBe('HTTP_400');
  });
});

describe('connectionReason', () => {
  it('finds the code in the cause chain of a fetch failure', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(connectionReason(new TypeError('fetch failed', { cause: refused }))).toBe('ECONNREFUSED: connection refused');
  });

  it('looks inside an AggregateError (every address of a name refused)', () => {
    const v6 = Object.assign(new Error('connect ECONNREFUSED ::1:8100'), { code: 'ECONNREFUSED' });
    const aggregate = new AggregateError([v6], '');
    expect(connectionReason(new TypeError('fetch failed', { cause: aggregate }))).toBe('ECONNREFUSED: connection refused');
  });

  it('falls back to the deepest message, or an unknown code with its message', () => {
    expect(connectionReason(new TypeError('fetch failed', { cause: new Error('bad port') }))).toBe('bad port');
    expect(connectionReason(Object.assign(new Error('weird\nthing'), { code: 'EWEIRD' }))).toBe('EWEIRD: weird thing');
  });
});

describe('describeError and exit codes', () => {
  it('is one line without a stack, whatever is thrown', () => {
    const err = new Error('line one\n    at somewhere (file.ts:1:1)');
    expect(describeError(err)).toBe('ERROR: line one at somewhere (file.ts:1:1)');
    expect(describeError('plain')).toBe('ERROR: plain');
    expect(describeError(new CliError('X', 'y'))).toBe('X: y');
  });

  it('exits 2 for usage errors and 1 for the rest', () => {
    expect(exitCodeOf(new UsageError('no'))).toBe(EXIT.USAGE);
    expect(exitCodeOf(new ApiError('JOB_NOT_FOUND', 'no', 404))).toBe(EXIT.FAILED);
    expect(exitCodeOf(new Error('x'))).toBe(EXIT.FAILED);
  });
});
