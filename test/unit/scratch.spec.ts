import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describeResult, safeStem, Scratch, sniff } from '@menagerie/storage';
import { newScratch } from '../support/scratch';
import { from, opened, openOn, read } from '../support/streams';
import { tempDir } from '../support/temp-dir';

// The loop-mounted job directories, which need root and loop devices: test/host/scratch-volumes.spec.ts.

describe('Scratch', () => {
  it("adds up what its job directories use (the node's scratch metric), 0 once they are gone", async () => {
    const scratch = await newScratch();
    const [a, b] = [randomUUID(), randomUUID()];
    await scratch.stage(a, 'in', '1000', from('x'.repeat(1000)));
    await scratch.stage(b, 'in', '1000', from('y'.repeat(500)));
    expect(await scratch.usedBytes()).toBe(1500);
    await Promise.all([scratch.remove(a), scratch.remove(b)]);
    expect(await scratch.usedBytes()).toBe(0);
  });

  it("stages the input under inputfilename in a job directory of its own, owned by the engine's user", async () => {
    const scratch = await newScratch();
    const id = randomUUID();
    await scratch.stage(id, 'sample.apk', '1000', from('apk'));
    const dir = scratch.dir(id);
    expect(dir).toBe(join(scratch.area, 'jobs', id));
    expect(readdirSync(dir)).toEqual(['sample.apk']);
    expect(readFileSync(join(dir, 'sample.apk'), 'utf8')).toBe('apk');
    if (process.getuid?.() === 0) {
      expect(statSync(dir).uid).toBe(1000);
      expect([statSync(join(dir, 'sample.apk')).uid, statSync(join(dir, 'sample.apk')).mode & 0o777]).toEqual([1000, 0o400]);
    }
  });

  it('stages afresh over what an earlier attempt left', async () => {
    const scratch = await newScratch();
    const id = randomUUID();
    await scratch.stage(id, 'in', '1000', from('first'));
    writeFileSync(join(scratch.dir(id), 'left-by-attempt-1'), 'x');
    await scratch.stage(id, 'in', '1000', from('second'));
    expect(readdirSync(scratch.dir(id))).toEqual(['in']);
    expect(readFileSync(join(scratch.dir(id), 'in'), 'utf8')).toBe('second');
  });

  it('removes the job directory when the input breaks off while it is staged', async () => {
    const scratch = await newScratch();
    const id = randomUUID();
    const input = new Readable({ read() {} });
    const staged = scratch.stage(id, 'in', '1000', input);
    input.push(Buffer.alloc(1024));
    input.destroy(new Error('the store went away'));
    await expect(staged).rejects.toThrow('the store went away');
    expect(existsSync(scratch.dir(id))).toBe(false);
  });

  it('opens a regular result with its size and first bytes, and names it with describeResult', async () => {
    const scratch = await newScratch();
    const id = randomUUID();
    await scratch.stage(id, 'in', '1000', from('x'));
    writeFileSync(join(scratch.dir(id), 'result'), '{"a": 1}');
    const result = opened(await scratch.openResult(id, 1000));
    expect({ size: result.size, head: result.head.toString() }).toEqual({ size: 8, head: '{"a": 1}' });
    expect(describeResult(result.head, result.size, '../../évil name.apk', 'filemeta')).toEqual({
      name: 'vil_name.filemeta.json',
      size: 8,
      mime: 'application/json',
    });
    expect((await read(result.stream)).toString()).toBe('{"a": 1}');
  });

  it('reads only the first 4096 bytes as the head, and streams the whole result from its start', async () => {
    const scratch = await newScratch();
    const id = randomUUID();
    await scratch.stage(id, 'in', '1000', from('x'));
    const bytes = Buffer.alloc(100_000, 'a');
    writeFileSync(join(scratch.dir(id), 'result'), bytes);
    const result = opened(await scratch.openResult(id, 1_000_000));
    expect(result.head).toEqual(bytes.subarray(0, 4096));
    expect(await read(result.stream)).toEqual(bytes);
  });

  it("closes the result file on close(), on a stream's end, and on a stream destroyed mid-way", async () => {
    const scratch = await newScratch();
    const id = randomUUID();
    await scratch.stage(id, 'in', '1000', from('x'));
    const path = join(scratch.dir(id), 'result');
    writeFileSync(path, Buffer.alloc(4 * 1024 * 1024, 7));

    const unread = opened(await scratch.openResult(id, 8 * 1024 * 1024));
    expect(openOn(path)).toBe(1);
    await unread.close();
    await unread.close(); // twice is safe
    expect(openOn(path)).toBe(0);

    const whole = opened(await scratch.openResult(id, 8 * 1024 * 1024));
    await read(whole.stream);
    await new Promise((r) => (whole.stream.closed ? r(undefined) : whole.stream.once('close', r)));
    expect(openOn(path)).toBe(0);

    const cut = opened(await scratch.openResult(id, 8 * 1024 * 1024));
    cut.stream.destroy();
    await new Promise((r) => cut.stream.once('close', r));
    expect(openOn(path)).toBe(0);
  });

  it('refuses a result that is a symlink (never followed), a directory, a FIFO, or too large; says when there is none', async () => {
    const scratch = await newScratch();
    const secret = join(tempDir('menagerie-secret-'), 'secret');
    writeFileSync(secret, 'host secret');
    const staged = async () => {
      const id = randomUUID();
      await scratch.stage(id, 'in', '1000', from('x'));
      return id;
    };
    const linked = await staged();
    symlinkSync(secret, join(scratch.dir(linked), 'result'));
    expect(await scratch.openResult(linked, 1000)).toBe('not-a-regular-file');
    expect(openOn(secret)).toBe(0);

    const dir = await staged();
    mkdirSync(join(scratch.dir(dir), 'result'));
    expect(await scratch.openResult(dir, 1000)).toBe('not-a-regular-file');

    const fifo = await staged();
    execFileSync('mkfifo', [join(scratch.dir(fifo), 'result')]);
    expect(await scratch.openResult(fifo, 1000)).toBe('not-a-regular-file');

    const big = await staged();
    writeFileSync(join(scratch.dir(big), 'result'), Buffer.alloc(2000));
    expect(await scratch.openResult(big, 1000)).toBe('too-large');

    expect(await scratch.openResult(await staged(), 1000)).toBe('missing');
    expect(await scratch.openResult(randomUUID(), 1000)).toBe('missing');
  });

  it('removes a job directory, idempotently, and lists the ones there are', async () => {
    const scratch = await newScratch();
    const [kept, gone] = [randomUUID(), randomUUID()];
    await scratch.stage(kept, 'in', '1000', from('x'));
    await scratch.stage(gone, 'in', '1000', from('x'));
    expect((await scratch.list()).sort()).toEqual([kept, gone].sort());
    await scratch.remove(gone);
    await scratch.remove(gone);
    await scratch.remove(randomUUID());
    expect(await scratch.list()).toEqual([kept]);
    expect(await scratch.openResult(gone, 1000)).toBe('missing');
  });

  it('refuses ids that are not UUIDs, so no path can escape the scratch root', async () => {
    const scratch = await newScratch();
    expect(() => scratch.dir('../../etc')).toThrow(/not a job id/);
    await expect(scratch.stage('../x', 'in', '1000', from('x'))).rejects.toThrow(/not a job id/);
  });
});

describe('sniff and safeStem', () => {
  it('recognises tar.gz, json, text and binary', () => {
    const tar = Buffer.alloc(1024);
    tar.write('ustar', 257, 'latin1');
    expect(sniff(gzipSync(tar)).extension).toBe('.tar.gz');
    expect(sniff(Buffer.from('  {"x":1}')).extension).toBe('.json');
    expect(sniff(Buffer.from('plain words')).extension).toBe('.txt');
    expect(sniff(Buffer.from([0, 1, 2, 255])).extension).toBe('.bin');
  });

  it('makes file names safe', () => {
    expect(safeStem('sample.apk')).toBe('sample');
    expect(safeStem('../../etc/passwd')).toBe('passwd');
    expect(safeStem('a\u0000b"c.apk')).toBe('a_b_c');
    expect(safeStem('')).toBe('input');
    expect(safeStem('x'.repeat(10_000)).length).toBe(80);
  });
});

describe('Scratch with loop-mounted job directories', () => {
  it('refuses a limit too small for a filesystem, at init', async () => {
    const scratch = new Scratch(tempDir('menagerie-scratch-'), {
      node: 'node-a',
      filesystem: 'loop',
      limitBytes: 4096,
    });
    await expect(scratch.init()).rejects.toThrow(/jobDirLimitBytes must be at least/);
  });

  it('walks a plain job directory, which is full past the limit', async () => {
    const scratch = await newScratch({ filesystem: 'plain', limitBytes: 1000 });
    const id = randomUUID();
    await scratch.stage(id, 'in', '1000', from('x'));
    expect(await scratch.usage(id)).toEqual({ usedBytes: 1, limitBytes: 1000, full: null, inodeLimit: null });
    writeFileSync(join(scratch.dir(id), 'big'), Buffer.alloc(1000));
    expect((await scratch.usage(id)).full).toBe('bytes');
  });
});
