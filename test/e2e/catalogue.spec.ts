import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { packBundle, type Report } from '@menagerie/engines';
import { collect, pushTar } from '../support/bundles';
import { samplePath } from '../support/engine-container';
import { ROOT } from '../support/env';
import { body, type Job } from '../support/http';
import { startSystem, type System } from '../support/system';
import { until } from '../support/until';

jest.setTimeout(1_200_000);

/** The example bundles the repository ships, pushed as an operator would: engine, bundle, directory. */
const EXAMPLE_BUNDLES = [
  ['yara', 'rules', 'engines/yara/data/rules'],
  ['clamav', 'signatures', 'engines/clamav/data/signatures'],
  ['capa', 'rules', 'engines/capa/data/rules'],
] as const;

/** The engines that take any file: what every sample is also given. */
const ANY_FILE = ['clamav', 'exiftool', 'filemeta', 'hashes', 'strings', 'yara'];

const json = (group: string, file: string) => JSON.parse(readFileSync(samplePath(group, file), 'utf8'));
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const tags = (report: Report | undefined, type: string) => (report?.tags ?? []).filter((t) => t.type === type).map((t) => t.value);

interface Case {
  sample: [group: string, file: string];
  /** The engines a person expects for the file's type, beside ANY_FILE. */
  engines: string[];
  /** What the reports must hold, by engine. */
  facts: (reports: Record<string, Report>, path: string) => void;
}

const CASES: Case[] = [
  {
    sample: ['binaries', 'hello.exe'],
    engines: ['capa', 'pe'],
    facts: (r, path) => {
      expect(tags(r.pe, 'hash.imphash')).toEqual([json('binaries', 'expected.json')['hello.exe'].pe.imphash]);
      expect(tags(r.hashes, 'hash.sha256')).toEqual([sha256(path)]);
      // capa's example rules, pushed as its bundle: the program calls CreateFileA.
      expect(tags(r.capa, 'capa.capability')).toContain('create file');
      expect(tags(r.yara, 'yara.rule')).toContain('PE_Header');
    },
  },
  {
    sample: ['archives', 'marked.bin'],
    engines: ['capa', 'pe'],
    facts: (r) => {
      // The marker the example yara rule and ClamAV signature were written for.
      expect(tags(r.yara, 'yara.rule')).toContain('Menagerie_Test_Marker');
      expect(r.yara.verdict?.value).toBe('malicious');
      expect(tags(r.clamav, 'av.signature')).toContain('Menagerie.Test.Marker.UNOFFICIAL');
      expect(r.clamav.verdict?.value).toBe('malicious');
    },
  },
  {
    sample: ['binaries', 'hello.elf'],
    engines: ['capa', 'elf'],
    facts: (r) => expect(tags(r.elf, 'elf.interpreter')).toEqual([json('binaries', 'expected.json')['hello.elf'].elf.interpreter]),
  },
  {
    sample: ['documents', 'macro.xlsm'],
    engines: ['office'],
    facts: (r) => {
      expect(tags(r.office, 'office.autoexec')).toEqual(['Workbook_Open']);
      expect(r.office.verdict?.value).toBe('suspicious');
    },
  },
  {
    sample: ['documents', 'active.pdf'],
    engines: ['pdf'],
    facts: (r) => {
      expect(tags(r.pdf, 'pdf.keyword')).toEqual(expect.arrayContaining(['/JS', '/OpenAction']));
      expect(r.pdf.children.length).toBeGreaterThan(0);
    },
  },
  {
    sample: ['documents', 'message.eml'],
    engines: ['email'],
    facts: (r) => {
      const expected = json('documents', 'message.expected.json');
      expect(tags(r.email, 'ioc.url')).toContain(expected.url);
      expect(r.email.children.map((c) => c.relation)).toEqual(expected.attachments.map(() => 'attachment'));
    },
  },
  {
    sample: ['archives', 'plain.zip'],
    engines: ['unpack'],
    facts: (r) => expect(r.unpack.children.map((c) => c.name).sort()).toEqual(Object.keys(json('archives', 'expected.json').plain).sort()),
  },
  {
    sample: ['android', 'sample.apk'],
    engines: ['androguard', 'apktool'],
    facts: (r) => expect(tags(r.androguard, 'android.package')).toEqual(['org.menagerie.android']),
  },
];

/**
 * The shipped catalogue (confs/engines.json as it is) on the real system:
 * `POST /submit?engines=auto` with each sample made here runs the engines a
 * person expects for its type, and each job's report holds the facts that
 * matter. Each engine's own findings are tested in test/engines.
 */
describe('the engine catalogue, through engines=auto', () => {
  let sys: System;

  beforeAll(async () => {
    sys = await startSystem();
    await until(
      'every engine served by a node',
      async () => {
        const { engines } = await body<{ engines: Array<{ name: string; available: boolean }> }>(await fetch(`${sys.baseUrl}/engines`));
        return engines.every((e) => e.available);
      },
      120_000,
    );
    for (const [engine, bundle, dir] of EXAMPLE_BUNDLES) {
      const res = await pushTar(sys.baseUrl, engine, bundle, await collect((await packBundle(join(ROOT, dir))).tar()));
      expect([engine, res.status]).toEqual([engine, 201]);
    }
  });
  afterAll(() => sys?.stop());

  it.each(CASES.map((c) => [c.sample.join('/'), c] as const))(
    'runs the engines a person expects on %s, whose reports hold its facts',
    async (_name, c) => {
      const path = samplePath(...c.sample);
      const form = new FormData();
      form.append('upload', new Blob([readFileSync(path)]), basename(path));
      const res = await fetch(`${sys.baseUrl}/submit?engines=auto`, { method: 'POST', body: form });
      expect(res.status).toBe(201);
      const { submissionId } = await body<{ submissionId: string }>(res);

      const ended = await until(
        `submission ${submissionId} to end`,
        async () => {
          const view = await body<{ status: string; jobs: Job[] }>(await fetch(`${sys.baseUrl}/submission/${submissionId}?wait=60`));
          return view.status !== 'running' && view;
        },
        900_000,
      );

      expect(ended.jobs.map((j) => j.engine).sort()).toEqual([...ANY_FILE, ...c.engines].sort());
      expect(ended.jobs.filter((j) => j.status !== 'completed').map((j) => [j.engine, j.status, j.error])).toEqual([]);
      const reports: Record<string, Report> = {};
      for (const job of ended.jobs) {
        if (!job.report) continue;
        const answer = await fetch(job.report.url!);
        expect(answer.status).toBe(200);
        reports[job.engine] = (await answer.json()) as Report;
      }
      // Every catalogue engine writes a report; filemeta, the smallest example, writes its result only.
      expect(Object.keys(reports).sort()).toEqual([...ANY_FILE, ...c.engines].filter((e) => e !== 'filemeta' && e !== 'apktool').sort());
      c.facts(reports, path);
    },
  );
});
