import { bytes, jobDetails, statusText, submittedLines, table } from '../../../apps/cli/src/format';
import { job, submission } from './fixtures';

describe('format', () => {
  it('aligns columns, leaving the last unpadded', () => {
    expect(
      table([
        ['a', 'bbb', 'x'],
        ['cccc', 'd', 'y'],
      ]),
    ).toEqual(['a     bbb  x', 'cccc  d    y']);
  });

  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1 kB'],
    [1536, '1.5 kB'],
    [2_486_000, '2.5 MB'],
    [150_000_000, '150 MB'],
  ])('bytes(%d) = %s', (n, text) => expect(bytes(n)).toBe(text));

  it('says why a job did not complete, and when it came from the cache', () => {
    expect(statusText(job({ status: 'completed', cached: true }))).toBe('completed (cached)');
    expect(statusText(job({ status: 'failed', exitCode: 1, error: '\nengine exited with code 1\nmore' }))).toBe(
      'failed (exit code 1: engine exited with code 1)',
    );
    expect(statusText(job({ status: 'timed_out', error: 'ran past 60 s' }))).toBe('timed_out (ran past 60 s)');
    expect(statusText(job({ status: 'queued', waitingFor: 'abc' }))).toBe('queued (waiting for abc)');
    expect(statusText(job({ status: 'running' }))).toBe('running');
  });

  it('prints a job per row and a submission with its jobs under it, skipping refused files', () => {
    const a = job({ jobid: 'job-a', status: 'completed' });
    const s = submission([
      job({ jobid: 'job-b', engine: 'apktool' }),
      job({ jobid: 'job-c', engine: 'filemeta', status: 'failed', exitCode: 2 }),
    ]);
    expect(
      submittedLines([
        { file: 'dir/a.txt', job: a },
        { file: 'dir/empty', error: { error: 'UPLOAD_EMPTY', message: 'empty' } },
        { file: 'app.apk', submission: s },
      ]),
    ).toEqual([
      'job-a  filemeta  completed  dir/a.txt',
      `submission ${s.submissionId}  running  app.apk  (engines: apktool,filemeta)`,
      '  job-b  apktool   queued',
      '  job-c  filemeta  failed (exit code 2)',
    ]);
  });

  it('lists only the facts a job has', () => {
    const lines = jobDetails(job({ status: 'completed', result: { name: 'sample.filemeta.json', size: 2048, mime: 'application/json' } }));
    expect(lines).toContain('result:  sample.filemeta.json (2 kB, application/json)');
    expect(lines.some((l) => l.startsWith('started'))).toBe(false);
    expect(lines[0]).toBe('job:     9a574ddf-419b-4fc3-aa29-b1133c9cb233');
  });
});
