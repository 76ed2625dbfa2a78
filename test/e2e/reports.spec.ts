import { randomUUID } from 'node:crypto';
import { FILEMETA } from '../support/cache-engines';
import { writeEnginesFile, type TestEngine } from '../support/engines-file';
import { body, uploadBytes, waitForJob, type Job } from '../support/http';
import { startSystem, type System } from '../support/system';
import { until } from '../support/until';

jest.setTimeout(600_000);

/**
 * An engine on the Python engine base that reports what its input says: the
 * first line is the summary, each further `<type> <value>` line a tag, and a
 * line `verdict <value> <reason>` its verdict (menagerie_report, the writer
 * every Python engine uses).
 */
const REPORTER: TestEngine = {
  name: 'reporter',
  image: '{{regserver}}/python:stable',
  cachettl: 3600,
  cmd: [
    'python3',
    '-c',
    [
      'from menagerie_report import Report',
      'r = Report("reporter")',
      'lines = r.read_input().decode().splitlines()',
      'r.summary = lines[0]',
      'for line in lines[1:]:',
      '    kind, _, rest = line.partition(" ")',
      '    if kind == "verdict": r.verdict(*rest.split(" ", 1))',
      '    else: r.tag(kind, rest)',
      'r.kv("Input", [("lines", str(len(lines)))])',
      'r.finish()',
    ].join('\n'),
  ],
};

/** Writes a report.json that is not one (a tag without a type), beside a good result. */
const BAD_REPORT: TestEngine = {
  name: 'badreport',
  image: '{{regserver}}/python:stable',
  cmd: [
    'sh',
    '-c',
    `printf '{"schema": "menagerie.report/1", "summary": "x", "tags": [{"value": "untyped"}]}' > /var/data/report.json; echo raw > /var/data/result`,
  ],
};

describe('reports (menagerie.report/1) through the API', () => {
  let sys: System;

  beforeAll(async () => {
    sys = await startSystem({ enginesFile: writeEnginesFile([REPORTER, BAD_REPORT, FILEMETA]) });
    // A cache hit at upload needs the digest the nodes report for the engine's image.
    await until('the nodes reporting the image digest', async () => {
      const res = await fetch(`${sys.baseUrl}/engines`);
      const { engines } = await body<{ engines: Array<{ name: string; imageDigest: string | null }> }>(res);
      return engines.some((e) => e.name === 'reporter' && e.imageDigest);
    });
  });
  afterAll(() => sys?.stop());

  const run = async (engine: string, content: string): Promise<Job> => {
    const res = await uploadBytes(sys.baseUrl, engine, content, 'sample.txt');
    expect(res.status).toBe(201);
    return waitForJob(sys.baseUrl, (await body<Job>(res)).jobid, 120_000);
  };
  const tagged = async (tag: string) => {
    const res = await fetch(`${sys.baseUrl}/jobs?tag=${encodeURIComponent(tag)}`);
    expect(res.status).toBe(200);
    return (await body<{ items: Job[] }>(res)).items.map((j) => j.jobid).sort();
  };

  it('answers the report at /report/<id>, its digest in /result/<id>, and finds the job by its tags', async () => {
    const rule = `Rule_${randomUUID().slice(0, 8)}`;
    const content = `two findings\nyara.rule ${rule}\nioc.domain c2.example.com\nverdict suspicious matched ${rule}\n`;
    const job = await run('reporter', content);

    expect(job.status).toBe('completed');
    expect(job.report).toEqual({
      summary: 'two findings',
      verdict: 'suspicious',
      reason: `matched ${rule}`,
      tags: { 'yara.rule': 1, 'ioc.domain': 1 },
      url: `${sys.baseUrl}/report/${job.jobid}`,
    });
    const res = await fetch(job.report!.url!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({
      schema: 'menagerie.report/1',
      summary: 'two findings',
      verdict: { value: 'suspicious', reason: `matched ${rule}` },
      tags: [
        { type: 'yara.rule', value: rule },
        { type: 'ioc.domain', value: 'c2.example.com' },
      ],
      sections: [{ kind: 'kv', title: 'Input', fields: [['lines', '4']] }],
      children: [],
    });
    expect(await tagged(`yara.rule:${rule}`)).toEqual([job.jobid]);
    expect(await tagged(`yara.rule:${rule}_other`)).toEqual([]);

    // The same bytes again: a cache hit, served the report too, and found by the same tag.
    const hit = await run('reporter', content);
    expect(hit.cached).toBe(true);
    expect(hit.report).toEqual({ ...job.report, url: `${sys.baseUrl}/report/${hit.jobid}` });
    expect(await (await fetch(hit.report!.url!)).json()).toEqual(await (await fetch(job.report!.url!)).json());
    expect(await tagged(`yara.rule:${rule}`)).toEqual([job.jobid, hit.jobid].sort());
    // Paging keeps the filter: the next page is the other job.
    const first = await body<{ items: Job[]; nextUrl: string }>(
      await fetch(`${sys.baseUrl}/jobs?limit=1&tag=${encodeURIComponent(`yara.rule:${rule}`)}`),
    );
    expect(new URL(first.nextUrl).searchParams.get('tag')).toBe(`yara.rule:${rule}`);
    const second = await body<{ items: Job[] }>(await fetch(first.nextUrl));
    expect([...first.items, ...second.items].map((j) => j.jobid).sort()).toEqual([job.jobid, hit.jobid].sort());
  });

  it('fails a job whose report.json is not a report, naming what is wrong, and keeps none of its result', async () => {
    const job = await run('badreport', `input ${randomUUID()}`);

    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/engine wrote a bad report\.json: report\.json does not follow menagerie\.report\/1: tags\.0\.type/);
    expect(job.result).toBeNull();
    expect(job.report).toBeNull();
    for (const path of ['link', 'report']) {
      const res = await fetch(`${sys.baseUrl}/${path}/${job.jobid}`);
      expect(res.status).toBe(404);
      expect((await body(res)).error).toBe('RESULT_NOT_READY');
    }
  });

  it('keeps the original contract: an engine that writes only its result has no report, and /report says where its result is', async () => {
    const job = await run('filemeta', `plain ${randomUUID()}`);

    expect(job.status).toBe('completed');
    expect(job.report).toBeNull();
    const res = await fetch(`${sys.baseUrl}/report/${job.jobid}`);
    expect(res.status).toBe(404);
    expect(await body(res)).toEqual({
      error: 'NO_REPORT',
      message: `engine filemeta wrote no report.json for job ${job.jobid}; its result is at /link/${job.jobid}`,
    });
  });

  it.each([['yara.rule'], ['Yara.Rule:x'], ['yara.rule:'], ['yara:x']])(
    'refuses the tag filter %p with what a tag looks like',
    async (tag) => {
      const res = await fetch(`${sys.baseUrl}/jobs?tag=${encodeURIComponent(tag)}`);
      expect(res.status).toBe(400);
      expect(await body(res)).toMatchObject({ error: 'INVALID_QUERY', message: expect.stringMatching(/^tag must be <type>:<value>/) });
    },
  );
});
