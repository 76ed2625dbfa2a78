import { randomUUID } from 'node:crypto';
import { pack } from 'tar-stream';
import { createBlobStore } from '@menagerie/storage';
import { collect, pushFiles, pushTar } from '../support/bundles';
import { NOWHERE, RULES, UNCHECKED } from '../support/bundle-engines';
import { writeEnginesFile } from '../support/engines-file';
import { body, uploadBytes, waitForJob, type Job } from '../support/http';
import { startSystem, type System } from '../support/system';
import { until } from '../support/until';

jest.setTimeout(600_000);

describe('data bundles on the real system', () => {
  let sys: System;
  const unique = () => `input ${randomUUID()}\n`;

  async function ran(engine: string, content: string): Promise<{ job: Job; saw: string[] }> {
    const res = await uploadBytes(sys.baseUrl, engine, content);
    expect(res.status).toBe(201);
    const job = await waitForJob(sys.baseUrl, (await body<Job>(res)).jobid, 120_000);
    expect(job).toMatchObject({ status: 'completed' });
    const saw = (await (await fetch(job.resultUrl!)).text()).trim().split('\n');
    return { job, saw };
  }

  const cacheKeyOf = async (id: string) =>
    ((await sys.db.query(`SELECT cache_key FROM jobs WHERE id = $1`, [id])) as Array<{ cache_key: string }>)[0].cache_key;
  const current = async (engine: string) => (await body(await fetch(`${sys.baseUrl}/engines/${engine}/data`))).bundles[0];

  beforeAll(async () => {
    sys = await startSystem({ enginesFile: writeEnginesFile([RULES, UNCHECKED, NOWHERE]) });
    // Checks need a node that serves the engine; the cache needs the digest the nodes report.
    await until('the node serving the engines', async () => {
      const { engines } = await body(await fetch(`${sys.baseUrl}/engines`));
      return engines
        .filter((e: { name: string; imageDigest: string | null }) => e.name !== 'nowhere')
        .every((e: { imageDigest: string | null }) => e.imageDigest);
    });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('runs a job with an empty read-only directory before any version is pushed, and records that it had none', async () => {
    const engines = (await body(await fetch(`${sys.baseUrl}/engines`))).engines as Array<Record<string, unknown>>;
    expect(engines.find((e) => e.name === 'rules')).toMatchObject({ data: { rules: { target: '/rules', digest: null } }, datacheck: true });
    const { job, saw } = await ran('rules', unique());
    expect(job.data).toEqual({ rules: null });
    expect(saw.filter((l) => l.startsWith('./'))).toEqual([]);
    expect(saw).toContain('wrote: no');
  });

  it("changes the next job's output, its recorded digest and its cache key with a push; an identical upload then runs again", async () => {
    const first = await pushFiles(sys.baseUrl, 'rules', 'rules', { 'a.yar': 'rule one' });
    expect(first.status).toBe(201);
    const v1 = await body(first);
    expect(v1).toMatchObject({
      engine: 'rules',
      bundle: 'rules',
      current: true,
      changed: true,
      files: 1,
      size: 8,
      checkLog: 'ok: 1 files\n',
    });
    expect(v1.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const content = unique();
    const one = await ran('rules', content);
    expect(one.saw).toContain('./a.yar: rule one');
    expect(one.job.data).toEqual({ rules: v1.digest });
    // The same upload, the same rules: the cache answers.
    const hit = await body<Job>(await uploadBytes(sys.baseUrl, 'rules', content));
    expect(hit).toMatchObject({ status: 'completed', cached: true, cachedFrom: one.job.jobid, data: { rules: v1.digest } });

    const v2 = await body(await pushFiles(sys.baseUrl, 'rules', 'rules', { 'a.yar': 'rule one', 'more/b.yar': 'rule two' }));
    expect(v2).toMatchObject({ current: true, changed: true, files: 2 });
    const engines = (await body(await fetch(`${sys.baseUrl}/engines`))).engines as Array<Record<string, unknown>>;
    expect(engines.find((e) => e.name === 'rules')).toMatchObject({ data: { rules: { target: '/rules', digest: v2.digest } } });

    const two = await ran('rules', content);
    expect(two.job).toMatchObject({ cached: false, data: { rules: v2.digest } });
    expect(two.saw).toEqual(expect.arrayContaining(['./a.yar: rule one', './more/b.yar: rule two']));
    expect(await cacheKeyOf(two.job.jobid)).not.toBe(await cacheKeyOf(one.job.jobid));

    const listed = await current('rules');
    expect(listed).toMatchObject({ bundle: 'rules', target: '/rules', current: { digest: v2.digest, current: true } });
    expect(listed.history.map((v: { digest: string; current: boolean }) => [v.digest, v.current])).toEqual([
      [v2.digest, true],
      [v1.digest, false],
    ]);
  });

  it('mounts the bundle read-only, and on loop job directories nosuid, nodev and noexec too', async () => {
    await pushFiles(sys.baseUrl, 'rules', 'rules', { 'a.yar': `rule ${randomUUID()}` });
    const { saw } = await ran('rules', unique());
    const options = saw
      .find((l) => l.startsWith('mount: '))!
      .slice('mount: '.length)
      .split(',');
    expect(options).toContain('ro');
    if (sys.config.settings.storage.jobDirFilesystem === 'loop')
      expect(options).toEqual(expect.arrayContaining(['nosuid', 'nodev', 'noexec']));
    expect(saw).toContain('wrote: no');
  });

  it('answers 200 and changes nothing for a push of the version that is current', async () => {
    const files = { 'same.yar': `rule ${randomUUID()}` };
    const pushed = await body(await pushFiles(sys.baseUrl, 'rules', 'rules', files));
    const before = (await current('rules')).history.length;
    const again = await pushFiles(sys.baseUrl, 'rules', 'rules', files);
    expect(again.status).toBe(200);
    expect(await body(again)).toMatchObject({ digest: pushed.digest, current: true, changed: false, pushedAt: pushed.pushedAt });
    expect((await current('rules')).history).toHaveLength(before);
  });

  it("refuses a version its check refuses, with the check's own message; the last good version stays, and no job is affected", async () => {
    const good = await body(await pushFiles(sys.baseUrl, 'rules', 'rules', { 'a.yar': 'rule good' }));
    const before = (await current('rules')).history.length;
    const bad = await pushFiles(sys.baseUrl, 'rules', 'rules', { 'a.yar': 'rule good', BAD: 'rule 3 does not compile: unexpected }' });
    expect(bad.status).toBe(422);
    const refusal = await body(bad);
    expect(refusal).toMatchObject({ error: 'DATA_BUNDLE_REFUSED', engine: 'rules', bundle: 'rules', exitCode: 1 });
    expect(refusal.message).toBe(
      'engine rules refused this rules bundle: its datacheck exited with code 1:\nrule 3 does not compile: unexpected }',
    );
    // Nothing of it is kept: no version, no stored tar.
    expect(await current('rules')).toMatchObject({ current: { digest: good.digest } });
    expect((await current('rules')).history).toHaveLength(before);
    const store = createBlobStore({ ...sys.config.settings.storage, dir: sys.config.storageDir });
    expect(await store.bundles.exists(refusal.digest)).toBe(false);
    expect(await store.bundles.exists(good.digest)).toBe(true);
    await store.close();
    const after = await ran('rules', unique());
    expect(after.job.data).toEqual({ rules: good.digest });
    expect(after.saw).toContain('./a.yar: rule good');
  });

  it('takes a version as it is for an engine without a check', async () => {
    const res = await pushFiles(sys.baseUrl, 'unchecked', 'rules', { BAD: 'no one looks' });
    expect(res.status).toBe(201);
    expect(await body(res)).toMatchObject({ current: true, checkLog: null });
  });

  it('refuses a tar with a link or a path out of the bundle, naming the member, and what is not a tar', async () => {
    const tarOf = async (entries: Array<{ name: string; type?: 'symlink' | 'file'; linkname?: string; content?: string }>) => {
      const p = pack();
      for (const e of entries)
        p.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, size: e.content?.length ?? 0 }, e.content ?? '');
      p.finalize();
      return collect(p);
    };
    const link = await pushTar(
      sys.baseUrl,
      'rules',
      'rules',
      await tarOf([
        { name: 'a.yar', content: 'x' },
        { name: 'passwd', type: 'symlink', linkname: '/etc/passwd' },
      ]),
    );
    expect(link.status).toBe(400);
    expect(await body(link)).toMatchObject({
      error: 'BAD_DATA_BUNDLE',
      member: 'passwd',
      message: `the bundle's tar was refused: "passwd": is a symbolic link; a bundle holds only regular files and directories`,
    });
    const escape = await pushTar(sys.baseUrl, 'rules', 'rules', await tarOf([{ name: '../x', content: 'x' }]));
    expect(await body(escape)).toMatchObject({
      error: 'BAD_DATA_BUNDLE',
      message: `the bundle's tar was refused: "../x": leads out of the bundle (..)`,
    });
    const text = await pushTar(sys.baseUrl, 'rules', 'rules', Buffer.from('not a tar'), 'text/plain');
    expect([text.status, (await body(text)).error]).toEqual([415, 'NOT_TAR']);
    const garbage = await pushTar(sys.baseUrl, 'rules', 'rules', Buffer.alloc(2048, 'x'));
    expect([garbage.status, (await body(garbage)).error]).toEqual([400, 'BAD_DATA_BUNDLE']);
  });

  it('answers 404 for an engine or a bundle it does not have, and 503 when no node serves the engine', async () => {
    const files = { 'a.yar': 'x' };
    expect(await body(await pushFiles(sys.baseUrl, 'nope', 'rules', files))).toMatchObject({ error: 'ENGINE_UNKNOWN' });
    const unknown = await pushFiles(sys.baseUrl, 'rules', 'signatures', files);
    expect([unknown.status, await body(unknown)]).toEqual([
      404,
      expect.objectContaining({
        error: 'DATA_BUNDLE_UNKNOWN',
        message: 'engine rules has no data bundle named "signatures"; its bundles: rules',
      }),
    ]);
    const nowhere = await pushFiles(sys.baseUrl, 'nowhere', 'rules', files);
    expect([nowhere.status, (await body(nowhere)).error]).toEqual([503, 'ENGINE_UNAVAILABLE']);
  });
});
