import { canonicalSubmissionId, parseEngineChoice, submissionStatus } from '@menagerie/core';

describe('submissionStatus', () => {
  it('is running while any job is queued or running', () => {
    expect(submissionStatus(['completed', 'queued'])).toBe('running');
    expect(submissionStatus(['failed', 'running', 'completed'])).toBe('running');
  });

  it('is completed when every job completed', () => {
    expect(submissionStatus(['completed'])).toBe('completed');
    expect(submissionStatus(['completed', 'completed'])).toBe('completed');
  });

  it('is completed_with_failures when all ended and some, not all, completed', () => {
    expect(submissionStatus(['completed', 'failed'])).toBe('completed_with_failures');
    expect(submissionStatus(['timed_out', 'completed', 'cancelled'])).toBe('completed_with_failures');
  });

  it('is failed when all ended and none completed', () => {
    expect(submissionStatus(['failed', 'timed_out'])).toBe('failed');
    expect(submissionStatus(['cancelled', 'cancelled'])).toBe('failed');
    expect(submissionStatus([])).toBe('failed');
  });
});

describe('parseEngineChoice', () => {
  const invalid = (value: unknown, message: RegExp) =>
    expect(() => parseEngineChoice(value)).toThrow(
      expect.objectContaining({ code: 'INVALID_ENGINES', message: expect.stringMatching(message) }),
    );

  it('reads auto, or the names in the order given, trimmed', () => {
    expect(parseEngineChoice('auto')).toEqual({ auto: true });
    expect(parseEngineChoice(' auto ')).toEqual({ auto: true });
    expect(parseEngineChoice('filemeta, apktool')).toEqual({ auto: false, names: ['filemeta', 'apktool'] });
    expect(parseEngineChoice('one')).toEqual({ auto: false, names: ['one'] });
  });

  it('refuses a missing, repeated, empty or malformed list, duplicates, and auto among names', () => {
    invalid(undefined, /engines=apktool,filemeta/);
    invalid(['a', 'b'], /give engines once/);
    invalid('', /not a list of engine names/);
    invalid('apktool,', /not a list of engine names/);
    invalid('apktool,,filemeta', /not a list of engine names/);
    invalid('apk tool', /not a list of engine names/);
    invalid('apktool,apktool', /engine apktool is named twice/);
    invalid('auto,apktool', /auto stands alone/);
  });
});

describe('canonicalSubmissionId', () => {
  it('lower-cases a UUID and refuses anything else with INVALID_SUBMISSION_ID', () => {
    expect(canonicalSubmissionId('3F0C9A2E-8B1D-4C5E-9F7A-2B6D8E1C4A90')).toBe('3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90');
    for (const bad of ['', 'nope', undefined, ['3f0c9a2e-8b1d-4c5e-9f7a-2b6d8e1c4a90']]) {
      expect(() => canonicalSubmissionId(bad)).toThrow(expect.objectContaining({ code: 'INVALID_SUBMISSION_ID' }));
    }
  });
});
