import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { completedJob, FAILURE_TYPES, type JobRun } from '@menagerie/core';
import { failureOf, setup, type Engine } from '../support/run-job';

/** An engine that writes `report` (an object as JSON, or bytes as they are) beside a result. */
const reporting =
  (report: unknown, more: (dir: string) => void = () => undefined): Engine =>
  (dir) => {
    writeFileSync(join(dir, 'report.json'), Buffer.isBuffer(report) ? report : JSON.stringify(report));
    more(dir);
    writeFileSync(join(dir, 'result'), '{"raw": true}');
    return {};
  };

const REPORT = {
  schema: 'menagerie.report/1',
  summary: 'PE32 executable, 3 sections, packed',
  verdict: { value: 'suspicious', reason: 'UPX sections' },
  tags: [
    { type: 'pe.packer', value: 'UPX' },
    { type: 'ioc.url', value: 'http://c2.example.com/a' },
    { type: 'ioc.url', value: 'http://c2.example.com/b' },
    { type: 'ioc.url', value: 'http://c2.example.com/a' },
  ],
  sections: [{ kind: 'kv', title: 'Headers', fields: [['Machine', 'I386']] }],
  children: [{ path: 'children/overlay.bin', relation: 'overlay' }],
};

const withChild = (dir: string) => {
  mkdirSync(join(dir, 'children'));
  writeFileSync(join(dir, 'children/overlay.bin'), 'overlay bytes');
};

describe('runJob with a report (menagerie.report/1)', () => {
  it('stores the report beside the result, indexes its distinct tags, and hands its digest to the final status', async () => {
    const t = await setup(reporting(REPORT, withChild));

    const run: JobRun = await new MockActivityEnvironment().run(t.activities.runJob, t.input);

    const digest = { summary: REPORT.summary, verdict: 'suspicious', reason: 'UPX sections', tagCounts: { 'pe.packer': 1, 'ioc.url': 3 } };
    expect(run.result.report).toEqual(digest);
    expect(completedJob(t.jobId, run).result?.report).toEqual(digest);
    expect(JSON.parse(t.stored('report')!)).toEqual(REPORT);
    expect(t.stored('result')).toBe('{"raw": true}');
    expect(t.tags.replace.mock.calls).toEqual([
      [
        t.jobId,
        [
          { type: 'pe.packer', value: 'UPX' },
          { type: 'ioc.url', value: 'http://c2.example.com/a' },
          { type: 'ioc.url', value: 'http://c2.example.com/b' },
        ],
      ],
    ]);
  });

  it('keeps the original contract: a result alone has no report, and no tags are written', async () => {
    const t = await setup((dir) => (writeFileSync(join(dir, 'result'), 'plain'), {}));
    const run: JobRun = await new MockActivityEnvironment().run(t.activities.runJob, t.input);
    expect(run.result.report).toBeUndefined();
    expect(t.stored('report')).toBeUndefined();
    expect(t.tags.replace).not.toHaveBeenCalled();
  });

  it.each([
    ['not JSON', Buffer.from('{"schema": '), /report\.json is not JSON/],
    ['another schema', { ...REPORT, schema: 'menagerie.report/0' }, /schema: Invalid input: expected "menagerie.report\/1"/],
    ['an unknown verdict', { ...REPORT, verdict: { value: 'evil', reason: 'x' } }, /verdict\.value: Invalid option/],
    ['a badly typed tag', { ...REPORT, tags: [{ type: 'Packer', value: 'UPX' }] }, /tags\.0\.type: must be "<family>\.<name>"/],
    ['a summary of two lines', { ...REPORT, summary: 'one\ntwo' }, /summary: must be one line/],
    [
      'too many tags',
      { ...REPORT, tags: Array.from({ length: 2001 }, (_, i) => ({ type: 'ioc.ip', value: `10.0.0.${i}` })) },
      /tags: must hold at most 2000/,
    ],
    [
      'a child outside the job directory',
      { ...REPORT, children: [{ path: '../etc/passwd', relation: 'extracted' }] },
      /children\.0\.path: must be a relative path/,
    ],
    [
      'a child that is not there',
      { ...REPORT, children: [{ path: 'children/gone', relation: 'extracted' }] },
      /children\.0\.path: children\/gone is not in the job directory/,
    ],
    ['a field the format lacks', { ...REPORT, score: 10 }, /Unrecognized key: "score"/],
  ])('fails the job on a report with %s, naming what is wrong, and stores none of the run', async (_what, report, message) => {
    const t = await setup(reporting(report));

    const failure = await failureOf(new MockActivityEnvironment().run(t.activities.runJob, t.input));

    expect(failure.type).toBe(FAILURE_TYPES.badReport);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(message);
    expect(t.stored('result')).toBeUndefined();
    expect(t.stored('report')).toBeUndefined();
    expect(t.tags.replace).not.toHaveBeenCalled();
  });

  it('never follows a child through a symlinked directory, nor a report that is a symlink', async () => {
    const outside = setup(
      reporting({ ...REPORT, children: [{ path: 'link/passwd', relation: 'extracted' }] }, (dir) => symlinkSync('/etc', join(dir, 'link'))),
    );
    const viaLink = await failureOf(new MockActivityEnvironment().run((await outside).activities.runJob, (await outside).input));
    expect(viaLink.message).toMatch(/children\.0\.path: link\/passwd is not a regular file \(a symlink on the way/);

    const linked = await setup((dir) => {
      symlinkSync('/etc/hostname', join(dir, 'report.json'));
      writeFileSync(join(dir, 'result'), 'r');
      return {};
    });
    const viaReport = await failureOf(new MockActivityEnvironment().run(linked.activities.runJob, linked.input));
    expect(viaReport.message).toMatch(/report\.json is not a regular file .* it was not followed/);
    expect(linked.stored('result')).toBeUndefined();
  });
});
