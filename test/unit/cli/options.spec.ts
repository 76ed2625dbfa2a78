import { integerOption, resolveConnection, resolveTarget } from '../../../apps/cli/src/options';
import { UsageError } from '../../../apps/cli/src/errors';

describe('resolveConnection', () => {
  it('takes the flag over the environment over the default', () => {
    expect(resolveConnection({}, {})).toEqual({ url: 'http://localhost:8100', apiKey: null });
    expect(resolveConnection({}, { MENAGERIE_URL: 'http://api:9000/', MENAGERIE_API_KEY: 'env-key' })).toEqual({
      url: 'http://api:9000',
      apiKey: 'env-key',
    });
    expect(
      resolveConnection(
        { url: 'https://m.example/base/', apiKey: 'flag-key' },
        { MENAGERIE_URL: 'http://api:9000', MENAGERIE_API_KEY: 'env-key' },
      ),
    ).toEqual({
      url: 'https://m.example/base',
      apiKey: 'flag-key',
    });
  });

  it('treats empty environment values as unset', () => {
    expect(resolveConnection({}, { MENAGERIE_URL: '', MENAGERIE_API_KEY: '' })).toEqual({ url: 'http://localhost:8100', apiKey: null });
  });

  it.each(['localhost:8100', 'ftp://x', 'http://h/?a=1', 'http://user:pw@h', 'not a url'])('refuses %s as a usage error', (url) => {
    expect(() => resolveConnection({ url }, {})).toThrow(UsageError);
  });
});

describe('resolveTarget', () => {
  it('uploads to one engine, named either way', () => {
    expect(resolveTarget('filemeta', undefined)).toEqual({ kind: 'engine', engine: 'filemeta' });
    expect(resolveTarget(undefined, 'filemeta')).toEqual({ kind: 'engine', engine: 'filemeta' });
  });

  it('submits to several engines, or auto', () => {
    expect(resolveTarget(undefined, 'apktool, filemeta')).toEqual({ kind: 'submission', engines: 'apktool,filemeta' });
    expect(resolveTarget(undefined, 'auto')).toEqual({ kind: 'submission', engines: 'auto' });
  });

  it.each([
    [undefined, undefined, /say which engines/],
    ['a', 'b,c', /not both/],
    ['a,b', undefined, /one engine name/],
    ['', undefined, /one engine name/],
    [undefined, 'a,,b', /empty name/],
  ])('refuses --engine %p --engines %p', (engine, engines, message) => {
    expect(() => resolveTarget(engine, engines)).toThrow(message);
  });
});

describe('integerOption', () => {
  const parse = integerOption('--concurrency', 1, 64);
  it('takes whole numbers in range', () => {
    expect(parse('1')).toBe(1);
    expect(parse('64')).toBe(64);
  });
  it.each(['0', '65', '-1', '2.5', 'four', '', '1e3'])('refuses %p', (value) => {
    expect(() => parse(value)).toThrow(UsageError);
  });
});
