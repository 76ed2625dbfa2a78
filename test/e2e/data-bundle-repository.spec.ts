import { randomUUID } from 'node:crypto';
import { workflowIdFor } from '@menagerie/core';
import { DataBundleRepository, JobOutboxRepository } from '@menagerie/db';
import { useJobsDatabase } from '../support/database';

/** DataBundleRepository, and what a job records of its bundles, on a real PostgreSQL database cloned from the migrated template. */
describe('DataBundleRepository', () => {
  const db = useJobsDatabase(4);
  let bundles: DataBundleRepository;
  beforeAll(() => {
    bundles = new DataBundleRepository(db.ds);
  });
  const digest = (c: string) => `sha256:${c.repeat(64)}`;
  const version = (engine: string, d: string, checkLog: string | null = 'ok: 1 rule') => ({
    engine,
    bundle: 'rules',
    digest: d,
    size: 10,
    files: 1,
    checkLog,
  });

  it('makes each recorded version current, keeping the one before as history, newest first', async () => {
    const engine = `yara-${randomUUID().slice(0, 8)}`;
    const first = await bundles.recordCurrent(version(engine, digest('1')));
    expect(first).toMatchObject({ changed: true, version: { engine, bundle: 'rules', digest: digest('1'), current: true, size: 10 } });
    await bundles.recordCurrent(version(engine, digest('2'), null));
    expect((await bundles.current(engine)).get('rules')).toMatchObject({ digest: digest('2'), checkLog: null, current: true });
    expect((await bundles.history(engine, 'rules')).map((v) => [v.digest, v.current])).toEqual([
      [digest('2'), true],
      [digest('1'), false],
    ]);
    expect((await bundles.currentDigests()).get(engine)).toEqual({ rules: digest('2') });
  });

  it('changes nothing for the version that is current already', async () => {
    const engine = `yara-${randomUUID().slice(0, 8)}`;
    await bundles.recordCurrent(version(engine, digest('3')));
    const again = await bundles.recordCurrent(version(engine, digest('3'), 'another log'));
    expect(again).toMatchObject({ changed: false, version: { digest: digest('3'), checkLog: 'ok: 1 rule' } });
    expect(await bundles.history(engine, 'rules')).toHaveLength(1);
  });

  it('keeps one current version when pushes of the same bundle meet', async () => {
    const engine = `yara-${randomUUID().slice(0, 8)}`;
    const pushes = ['4', '5', '6', '7'].map((c) => bundles.recordCurrent(version(engine, digest(c))));
    expect((await Promise.all(pushes)).every((p) => p.changed)).toBe(true);
    const history = await bundles.history(engine, 'rules');
    expect(history).toHaveLength(4);
    expect(history.filter((v) => v.current)).toHaveLength(1);
    expect(history.find((v) => v.current)?.digest).toBe((await bundles.current(engine)).get('rules')?.digest);
  });

  it("knows whether any engine's version has a digest, keeps NULs out of the log, and tells engines apart", async () => {
    const [a, b] = [`a-${randomUUID().slice(0, 8)}`, `b-${randomUUID().slice(0, 8)}`];
    const shared = digest('8');
    expect(await bundles.known(shared)).toBe(false);
    await bundles.recordCurrent(version(a, shared, 'nul\u0000here'));
    expect(await bundles.known(shared)).toBe(true);
    expect((await bundles.current(a)).get('rules')?.checkLog).toBe('nul\ufffdhere');
    expect((await bundles.current(b)).size).toBe(0);
  });

  it('records the versions a job was given on its row, and hands them to the dispatcher', async () => {
    const id = randomUUID();
    const data = { rules: digest('9'), signatures: null };
    const job = await db.jobs.create({
      id,
      engine: 'bundled',
      originalName: 'a.bin',
      size: 1,
      sha256: 'a'.repeat(64),
      image: 'menagerie/filemeta:stable',
      workflowId: workflowIdFor(id),
      data,
      cacheKey: 'c'.repeat(64),
    });
    expect(job.data).toEqual(data);
    expect((await db.jobs.findById(id))?.data).toEqual(data);
    const [unstarted] = await new JobOutboxRepository(db.ds).unstarted('bundled', 10);
    expect(unstarted).toMatchObject({ id, data });
    // One without bundles records none.
    expect((await db.jobs.findById(await db.queued()))?.data).toBeNull();
  });
});
