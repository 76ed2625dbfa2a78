import { CappedLog } from '@menagerie/runtime';

describe('CappedLog', () => {
  it('keeps everything under the limit', () => {
    const log = new CappedLog(100);
    log.write(Buffer.from('hello '));
    log.write(Buffer.from('world'));
    expect(log.toBuffer().toString()).toBe('hello world');
    expect(log.truncated).toBe(false);
  });

  it('keeps the head and the tail of a flood, in bounded memory', () => {
    const log = new CappedLog(1000);
    log.write(Buffer.from('START'));
    for (let i = 0; i < 10_000; i++) log.write(Buffer.alloc(100, 'x'));
    log.write(Buffer.from('END'));
    const out = log.toBuffer().toString();
    expect(out.startsWith('START')).toBe(true);
    expect(out.endsWith('END')).toBe(true);
    expect(out).toMatch(/bytes of output omitted/);
    expect(out.length).toBeLessThan(1100);
    expect(log.totalBytes).toBe(5 + 1_000_000 + 3);
    expect(log.tailText(3)).toBe('END');
  });

  it('gives a tail that PostgreSQL text accepts, without cutting characters', () => {
    const log = new CappedLog(1000);
    log.write(Buffer.from('± 5 percent\u0000after'));
    expect(log.tailText(1000)).toBe('± 5 percent\ufffdafter');
    const cut = new CappedLog(1000);
    cut.write(Buffer.from('aé'));
    expect(cut.tailText(1)).toBe('');
    expect(cut.tailText(2)).toBe('é');
  });
});
