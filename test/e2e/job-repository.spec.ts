import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createDataSource, JobRepository } from '@menagerie/db';
import { workflowIdFor } from '@menagerie/core';
import { createTestDatabase } from '../support/database';
import { DB } from '../support/env';

/** JobRepository on a real PostgreSQL database, cloned from the migrated template. */
describe('JobRepository', () => {
  let database: { name: string; drop(): Promise<void> };
  let ds: DataSource;
  let jobs: JobRepository;

  beforeAll(async () => {
    database = await createTestDatabase();
    ds = createDataSource({ ...DB, database: database.name }, 2);
    await ds.initialize();
    jobs = new JobRepository(ds);
  });
  afterAll(async () => {
    await ds?.destroy();
    await database?.drop();
  });

  async function queued(): Promise<string> {
    const id = randomUUID();
    await jobs.create({ id, engine: 'filemeta', originalName: 'a.bin', size: 1, sha256: 'a'.repeat(64), image: 'menagerie/filemeta:stable', workflowId: workflowIdFor(id) });
    return id;
  }

  it('keeps the first final status: completed, then failed, stays completed with its result and finish time', async () => {
    const id = await queued();
    await jobs.finalize({ jobId: id, status: 'completed', exitCode: 0, logTail: 'ok', result: { name: 'a.filemeta.json', size: 2, mime: 'application/json' } });
    const first = (await jobs.findById(id))!;

    await jobs.finalize({ jobId: id, status: 'failed', exitCode: 3, error: 'replayed after a crash', logTail: 'late' });
    const after = (await jobs.findById(id))!;
    expect(after).toMatchObject({ status: 'completed', exitCode: 0, error: null, logTail: 'ok', resultName: 'a.filemeta.json', resultSize: 2 });
    expect(after.finishedAt).toEqual(first.finishedAt);
  });

  it('records the digest and start time with the final status when "running" was never written', async () => {
    const id = await queued();
    await jobs.finalize({ jobId: id, status: 'completed', exitCode: 0, imageDigest: 'sha256:' + 'b'.repeat(64), startedAt: '2026-12-01T10:00:00.000Z' });
    expect(await jobs.findById(id)).toMatchObject({
      status: 'completed',
      imageDigest: 'sha256:' + 'b'.repeat(64),
      startedAt: new Date('2026-12-01T10:00:00.000Z'),
    });
  });

  it('keeps the start time "running" recorded, and what it knew when the final write knows nothing', async () => {
    const id = await queued();
    await jobs.markRunning(id, 'menagerie/filemeta:stable', 'sha256:' + 'c'.repeat(64));
    const running = (await jobs.findById(id))!;
    await jobs.finalize({ jobId: id, status: 'cancelled', error: 'cancelled by request' });
    const after = (await jobs.findById(id))!;
    expect(after).toMatchObject({ status: 'cancelled', imageDigest: 'sha256:' + 'c'.repeat(64) });
    expect(after.startedAt).toEqual(running.startedAt);
  });
});
