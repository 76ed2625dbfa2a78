import { ERROR_CODES } from '@menagerie/core';
import { statusFor } from '../../apps/api/src/common/error.mapper';

describe('error mapper', () => {
  it('gives every domain error code an HTTP status', () => {
    for (const code of ERROR_CODES) expect(statusFor(code)).toBeGreaterThanOrEqual(400);
  });

  it.each([
    ['ENGINE_UNKNOWN', 404],
    ['UPLOAD_TOO_LARGE', 413],
    ['NOT_MULTIPART', 415],
    ['UPLOAD_MISSING', 400],
    ['RESULT_NOT_READY', 404],
    ['JOB_NOT_CANCELLABLE', 409],
    ['SCHEDULER_UNAVAILABLE', 503],
    ['STORAGE_FULL', 507],
    ['UPLOAD_TIMEOUT', 408],
  ] as const)('%s → %i', (code, status) => {
    expect(statusFor(code)).toBe(status);
  });
});
