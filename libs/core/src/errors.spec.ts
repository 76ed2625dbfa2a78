import { API_ERROR_CODES, ERROR_CODES, frameworkErrorCode } from './errors';

describe('error codes', () => {
  it("names the framework's answers by their HTTP status, from the one list the OpenAPI document gives", () => {
    expect(frameworkErrorCode(404, 'NOT_FOUND')).toBe('NOT_FOUND');
    expect(frameworkErrorCode(413, 'PAYLOAD_TOO_LARGE')).toBe('PAYLOAD_TOO_LARGE');
    expect(frameworkErrorCode(405, 'METHOD_NOT_ALLOWED')).toBe('BAD_REQUEST');
    expect(frameworkErrorCode(502, 'BAD_GATEWAY')).toBe('INTERNAL');
    expect(frameworkErrorCode(500, 'INTERNAL_SERVER_ERROR')).toBe('INTERNAL');
    for (const status of [400, 404, 405, 413, 415, 418, 500, 503]) expect(API_ERROR_CODES).toContain(frameworkErrorCode(status, undefined));
  });

  it('lists every code once', () => {
    expect(new Set(API_ERROR_CODES).size).toBe(API_ERROR_CODES.length);
    expect(API_ERROR_CODES).toEqual(expect.arrayContaining([...ERROR_CODES]));
  });
});
