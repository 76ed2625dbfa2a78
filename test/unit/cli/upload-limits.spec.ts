import { oversizeFor } from '../../../apps/cli/src/upload-limits';

const engines = [
  { name: 'tiny', sizelimit: 1000 },
  { name: 'small', sizelimit: 3000 },
  { name: 'big', sizelimit: 1_000_000 },
];

describe('oversizeFor (explaining an upload the API cut off)', () => {
  it('names the engine whose limit the file is over', () => {
    expect(oversizeFor(5000, { kind: 'engine', engine: 'tiny' }, engines)).toBe(
      "the file (5000 bytes) is larger than engine tiny's limit of 1000 bytes",
    );
    expect(oversizeFor(5000, { kind: 'engine', engine: 'big' }, engines)).toBeNull();
    expect(oversizeFor(5000, { kind: 'engine', engine: 'unknown' }, engines)).toBeNull();
  });

  it('for a submission: the first named engine the file is over, in the order named; for auto, only when over every engine', () => {
    expect(oversizeFor(5000, { kind: 'submission', engines: 'big,tiny' }, engines)).toMatch(/engine tiny's limit/);
    expect(oversizeFor(5000, { kind: 'submission', engines: 'small, tiny' }, engines)).toMatch(/engine small's limit/);
    expect(oversizeFor(5000, { kind: 'submission', engines: 'big,unknown' }, engines)).toBeNull();
    expect(oversizeFor(5000, { kind: 'submission', engines: 'auto' }, engines)).toBeNull();
    // The API's words for it (tooLargeMessage), with the size the API could not know yet.
    expect(oversizeFor(2_000_000, { kind: 'submission', engines: 'auto' }, engines)).toBe(
      "the file (2000000 bytes) is larger than any engine's limit of 1000000 bytes",
    );
    expect(oversizeFor(10, { kind: 'submission', engines: 'auto' }, [])).toBeNull();
  });
});
